/*
 * crypto.c - master key, admin token and API key primitives on libsodium.
 */
#include "gw/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "gw/err.h"
#include "gw/log.h"

#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define MAC_LEN   crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KEY_LEN   crypto_aead_xchacha20poly1305_ietf_KEYBYTES

struct gw_keyring {
	uint8_t *master;                   /* sodium_malloc'd, KEY_LEN */
	uint8_t  admin_hash[GW_SHA256_LEN]; /* SHA-256 of the admin token */
};

/* read_secret_file reads at most cap-1 bytes of path, trimmed of
 * whitespace. GW_ENOTFOUND if absent. Warns when the mode lets others
 * read it. */
static int
read_secret_file(const char *path, char *buf, size_t cap)
{
	struct stat sb;
	ssize_t     n;
	int         fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? GW_ENOTFOUND : GW_ESTORE;
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 077) != 0)
		gw_warn("crypto", "%s is readable by others (mode %o)", path,
		    (unsigned) sb.st_mode & 0777);
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return GW_ESTORE;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' ||
			    buf[n - 1] == '\r' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	return GW_OK;
}

/* write_secret_file creates path 0600 with text, failing if it exists. */
static int
write_secret_file(const char *path, const char *text)
{
	int    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t len = strlen(text);

	if (fd < 0) {
		gw_error("crypto", "cannot create %s: %s", path,
		    strerror(errno));
		return GW_ESTORE;
	}
	if (write(fd, text, len) != (ssize_t) len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		close(fd);
		unlink(path);
		return GW_ESTORE;
	}
	close(fd);
	return GW_OK;
}

static int
decode_master(const char *b64, uint8_t *key)
{
	size_t n = 0;

	/* accept standard and URL-safe alphabets, padded or not */
	if (sodium_base642bin(key, KEY_LEN, b64, strlen(b64), NULL, &n, NULL,
		sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    n == KEY_LEN)
		return GW_OK;
	if (sodium_base642bin(key, KEY_LEN, b64, strlen(b64), "=", &n, NULL,
		sodium_base64_VARIANT_URLSAFE) == 0 &&
	    n == KEY_LEN)
		return GW_OK;
	return GW_EINVAL;
}

static int
load_master(struct gw_keyring *kr, const char *dir, const char *env)
{
	char path[4096], b64[128];
	int  rc;

	if (env != NULL) {
		rc = decode_master(env, kr->master);
		sodium_memzero(b64, sizeof(b64));
		if (rc != GW_OK) {
			gw_error("crypto", "MASTER_ENCRYPTION_KEY is not the "
			    "base64 of 32 bytes");
			return rc;
		}
		gw_info("crypto", "master key from MASTER_ENCRYPTION_KEY");
		return GW_OK;
	}
	snprintf(path, sizeof(path), "%s/master.key", dir);
	rc = read_secret_file(path, b64, sizeof(b64));
	if (rc == GW_ENOTFOUND) {
		randombytes_buf(kr->master, KEY_LEN);
		sodium_bin2base64(b64, sizeof(b64), kr->master, KEY_LEN,
		    sodium_base64_VARIANT_ORIGINAL);
		rc = write_secret_file(path, b64);
		sodium_memzero(b64, sizeof(b64));
		if (rc == GW_OK)
			gw_warn("crypto", "no MASTER_ENCRYPTION_KEY: created "
			    "%s (mode 0600); back it up, sealed tokens are "
			    "lost without it", path);
		return rc;
	}
	if (rc != GW_OK)
		return rc;
	rc = decode_master(b64, kr->master);
	sodium_memzero(b64, sizeof(b64));
	if (rc != GW_OK)
		gw_error("crypto", "%s is not the base64 of 32 bytes", path);
	else
		gw_info("crypto", "master key from %s", path);
	return rc;
}

static int
load_admin(struct gw_keyring *kr, const char *dir, const char *env)
{
	char path[4096], tok[256];
	int  rc;

	if (env != NULL && env[0] != '\0') {
		gw_sha256(env, strlen(env), kr->admin_hash);
		gw_info("crypto", "admin token from RELAY_ADMIN_TOKEN");
		return GW_OK;
	}
	snprintf(path, sizeof(path), "%s/admin.token", dir);
	rc = read_secret_file(path, tok, sizeof(tok));
	if (rc == GW_ENOTFOUND) {
		gw_random_token(tok, sizeof(tok), 32);
		if ((rc = write_secret_file(path, tok)) == GW_OK)
			gw_info("crypto", "created admin token file %s "
			    "(mode 0600)", path);
	} else if (rc == GW_OK) {
		gw_info("crypto", "admin token from %s", path);
	}
	if (rc == GW_OK && tok[0] == '\0') {
		gw_error("crypto", "%s is empty", path);
		rc = GW_EINVAL;
	}
	if (rc == GW_OK)
		gw_sha256(tok, strlen(tok), kr->admin_hash);
	sodium_memzero(tok, sizeof(tok));
	return rc;
}

int
gw_keyring_open(const char *state_dir, const char *env_master,
    const char *env_admin, struct gw_keyring **out)
{
	struct gw_keyring *kr;
	int                rc;

	if (sodium_init() < 0)
		return GW_ECRYPTO;
	if ((kr = sodium_malloc(sizeof(*kr))) == NULL)
		return GW_ENOMEM;
	if ((kr->master = sodium_malloc(KEY_LEN)) == NULL) {
		sodium_free(kr);
		return GW_ENOMEM;
	}
	if ((rc = load_master(kr, state_dir, env_master)) != GW_OK ||
	    (rc = load_admin(kr, state_dir, env_admin)) != GW_OK) {
		gw_keyring_close(kr);
		return rc;
	}
	sodium_mprotect_noaccess(kr->master);
	*out = kr;
	return GW_OK;
}

void
gw_keyring_close(struct gw_keyring *kr)
{
	if (kr == NULL)
		return;
	sodium_free(kr->master); /* wipes */
	sodium_free(kr);
}

bool
gw_keyring_check_admin(const struct gw_keyring *kr, const char *token,
    size_t len)
{
	uint8_t h[GW_SHA256_LEN];
	bool    ok;

	if (token == NULL || len == 0)
		return false;
	/* hashing first makes the comparison independent of length */
	gw_sha256(token, len, h);
	ok = sodium_memcmp(h, kr->admin_hash, sizeof(h)) == 0;
	sodium_memzero(h, sizeof(h));
	return ok;
}

size_t
gw_sealed_len(size_t len)
{
	return NONCE_LEN + len + MAC_LEN;
}

int
gw_seal(struct gw_keyring *kr, const char *ad, const uint8_t *pt,
    size_t len, uint8_t *out)
{
	int rc;

	randombytes_buf(out, NONCE_LEN);
	sodium_mprotect_readonly(kr->master);
	rc = crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE_LEN, NULL,
	    pt, len, (const uint8_t *) ad, strlen(ad), NULL, out,
	    kr->master);
	sodium_mprotect_noaccess(kr->master);
	return rc == 0 ? GW_OK : GW_ECRYPTO;
}

int
gw_unseal(struct gw_keyring *kr, const char *ad, const uint8_t *sealed,
    size_t slen, uint8_t *pt, size_t *len)
{
	unsigned long long n;
	int                rc;

	if (slen < NONCE_LEN + MAC_LEN)
		return GW_ECRYPTO;
	sodium_mprotect_readonly(kr->master);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &n, NULL,
	    sealed + NONCE_LEN, slen - NONCE_LEN, (const uint8_t *) ad,
	    strlen(ad), sealed, kr->master);
	sodium_mprotect_noaccess(kr->master);
	if (rc != 0)
		return GW_ECRYPTO;
	*len = (size_t) n;
	return GW_OK;
}

void
gw_sha256(const void *p, size_t len, uint8_t out[GW_SHA256_LEN])
{
	crypto_hash_sha256(out, p, len);
}

void
gw_random_token(char *out, size_t outlen, size_t nbytes)
{
	uint8_t buf[64];

	GW_ASSERT(nbytes <= sizeof(buf) &&
	    outlen >= sodium_base64_ENCODED_LEN(nbytes,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING));
	randombytes_buf(buf, nbytes);
	sodium_bin2base64(out, outlen, buf, nbytes,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(buf, sizeof(buf));
}

void
gw_api_key_new(char raw[GW_RAW_KEY_LEN + 1])
{
	memcpy(raw, GW_KEY_PREFIX, 3);
	gw_random_token(raw + 3, GW_RAW_KEY_LEN + 1 - 3, 32);
}
