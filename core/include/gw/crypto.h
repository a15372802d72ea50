/*
 * gw/crypto.h - the secrets relayd holds, and the operations on them.
 *
 * The master key (32 bytes) comes from MASTER_ENCRYPTION_KEY (base64) or
 * from <state dir>/master.key, created 0600 on first start. Provider
 * tokens are sealed under it with XChaCha20-Poly1305 (libsodium), bound by
 * associated data to what they belong to. Key material lives in
 * sodium_malloc() memory (guarded, excluded from core dumps) and is only
 * readable while in use.
 *
 * The admin token comes from RELAY_ADMIN_TOKEN or <state dir>/admin.token
 * (created 0600). Only its SHA-256 is kept; checks compare in constant
 * time.
 */
#ifndef GW_CRYPTO_H
#define GW_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_keyring;

#define GW_SHA256_LEN     32
#define GW_KEY_PREFIX     "rk_"
#define GW_KEY_PREFIX_LEN 8 /* characters of the raw key kept for display */
#define GW_RAW_KEY_LEN    (3 + 43) /* "rk_" + base64url(32 random bytes) */

/* gw_keyring_open loads or creates the master key and admin token for
 * state_dir. env_master and env_admin are the environment's values (NULL
 * when unset). Logs where each came from, never the values. Returns GW_OK,
 * GW_EINVAL (a malformed MASTER_ENCRYPTION_KEY), GW_ESTORE (file I/O) or
 * GW_ENOMEM. */
int gw_keyring_open(const char *state_dir, const char *env_master,
    const char *env_admin, struct gw_keyring **out);

/* gw_keyring_close wipes and frees. Accepts NULL. */
void gw_keyring_close(struct gw_keyring *kr);

/* gw_keyring_check_admin compares token with the admin token in constant
 * time. */
bool gw_keyring_check_admin(const struct gw_keyring *kr, const char *token,
    size_t len);

/* Sealed size for a plaintext of len bytes. */
size_t gw_sealed_len(size_t len);

/* gw_seal encrypts pt under the master key, bound to ad, into out
 * (gw_sealed_len(len) bytes). */
int gw_seal(struct gw_keyring *kr, const char *ad, const uint8_t *pt,
    size_t len, uint8_t *out);

/* gw_unseal decrypts into pt (at least slen bytes; *len receives the
 * plaintext length). GW_ECRYPTO if the box was tampered with or the ad
 * differs. The caller wipes pt with sodium_memzero() after use. */
int gw_unseal(struct gw_keyring *kr, const char *ad, const uint8_t *sealed,
    size_t slen, uint8_t *pt, size_t *len);

/* gw_sha256 hashes len bytes of p. */
void gw_sha256(const void *p, size_t len, uint8_t out[GW_SHA256_LEN]);

/* gw_api_key_new writes a fresh random API key of GW_RAW_KEY_LEN
 * characters plus NUL into raw. */
void gw_api_key_new(char raw[GW_RAW_KEY_LEN + 1]);

/* gw_random_token writes a base64url token of nbytes random bytes. */
void gw_random_token(char *out, size_t outlen, size_t nbytes);

#endif
