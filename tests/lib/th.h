/*
 * th.h - small helpers shared by Relay's tests (cmocka underneath).
 */
#ifndef TH_H
#define TH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* th_tmpdir creates a fresh private directory under $TMPDIR or /tmp and
 * returns its path (static storage per call site is not needed: the
 * string is malloc'd and lives until th_rmtree). */
char *th_tmpdir(void);

/* th_rmtree removes dir and everything below it, then frees dir. */
void th_rmtree(char *dir);

/* th_file_contains reports whether the file at path contains needle
 * anywhere (binary-safe). */
bool th_file_contains(const char *path, const void *needle, size_t len);

/* th_spawn starts argv[0] with argv and env additions ("K=V", NULL
 * terminated; may be NULL), stderr to errpath (or inherited when NULL).
 * Returns the pid or -1. */
pid_t th_spawn(char *const argv[], char *const env[], const char *errpath);

/* th_wait_exit waits for pid up to ms; returns its exit status, or -1 on
 * timeout (the process is then killed). */
int th_wait_exit(pid_t pid, int ms);

/* th_sleep_ms sleeps. */
void th_sleep_ms(int ms);

#endif
