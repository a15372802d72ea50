/* th.c - test helpers: temporary state dirs, processes, file checks. */
#include "th.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *
th_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char        buf[4096];
	char       *p;

	/* short paths: ipc:// socket names are limited to ~100 bytes */
	snprintf(buf, sizeof(buf), "%s/relay-t.XXXXXX",
	    base != NULL && strlen(base) < 40 ? base : "/tmp");
	if (mkdtemp(buf) == NULL)
		return NULL;
	p = strdup(buf);
	return p;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) flag;
	(void) ftw;
	return remove(path);
}

void
th_rmtree(char *dir)
{
	if (dir == NULL)
		return;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

bool
th_file_contains(const char *path, const void *needle, size_t len)
{
	struct stat sb;
	void       *p;
	bool        found;
	int         fd = open(path, O_RDONLY);

	if (fd < 0)
		return false;
	if (fstat(fd, &sb) != 0 || sb.st_size == 0) {
		close(fd);
		return false;
	}
	p = mmap(NULL, (size_t) sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return false;
	found = memmem(p, (size_t) sb.st_size, needle, len) != NULL;
	munmap(p, (size_t) sb.st_size);
	return found;
}

pid_t
th_spawn(char *const argv[], char *const env[], const char *errpath)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (errpath != NULL) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
	}
	for (int i = 0; env != NULL && env[i] != NULL; i++)
		putenv(env[i]);
	execv(argv[0], argv);
	_exit(127);
}

void
th_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int
th_wait_exit(pid_t pid, int ms)
{
	int status;

	for (int waited = 0; waited < ms; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status);
		th_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}
