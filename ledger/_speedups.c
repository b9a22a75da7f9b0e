/* ledger._speedups: the hot loops of CrowdLedger in C.
 *
 *   keccak256(data) -> bytes        Keccak-256 with the original 0x01 padding (Ethereum's, not SHA3-256)
 *   replay_ndjson(...)              the offline replay's fast path over canonical kind-2/3 export lines
 *   decode_logs(...)                eth_getLogs dicts of Pledged/Unpledged/Refunded -> LedgerEntry
 *   decode_logs_answer(...)         the same straight from the JSON bytes of a whole eth_getLogs answer
 *   verify_chain(...)               seq continuity and heads of a run of LedgerEntry
 *   entry_jsons(...)                the public JSON text of LedgerEntry (ledger.public.entry_json)
 *
 * Every function handles only the exact, common shape of its input and stops (or calls back into
 * Python) at anything else, so the Python reference code in ledger/ keeps the last word on every
 * unusual input, finding and error message. ledger/native.py is the only importer.
 *
 * The Keccak-f[1600] permutation below is a straightforward unrolled rendering of the public
 * specification (FIPS 202 section 3 / keccak.team), written for this module and dedicated to the
 * public domain.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* T_OBJECT_EX, READONLY: reading the slots of Position and Campaign */
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h> /* json_string's scan of 16 bytes at a time */
#endif

/* ------------------------------------------------------------------------------ Keccak-256 */

#define ROL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

static const uint64_t KECCAK_RC[24] = {
    UINT64_C(0x0000000000000001), UINT64_C(0x0000000000008082), UINT64_C(0x800000000000808a),
    UINT64_C(0x8000000080008000), UINT64_C(0x000000000000808b), UINT64_C(0x0000000080000001),
    UINT64_C(0x8000000080008081), UINT64_C(0x8000000000008009), UINT64_C(0x000000000000008a),
    UINT64_C(0x0000000000000088), UINT64_C(0x0000000080008009), UINT64_C(0x000000008000000a),
    UINT64_C(0x000000008000808b), UINT64_C(0x800000000000008b), UINT64_C(0x8000000000008089),
    UINT64_C(0x8000000000008003), UINT64_C(0x8000000000008002), UINT64_C(0x8000000000000080),
    UINT64_C(0x000000000000800a), UINT64_C(0x800000008000000a), UINT64_C(0x8000000080008081),
    UINT64_C(0x8000000000008080), UINT64_C(0x0000000080000001), UINT64_C(0x8000000080008008),
};

#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Keccak-f[1600]: 24 rounds over 25 64-bit lanes, lane (x, y) being st[x + 5y] (aNN below). Each
 * round: theta (c = column parities, d = c[x-1] ^ rol(c[x+1], 1) into every lane of column x),
 * rho and pi together (b[y, 2x+3y] = rol(a[x, y], r[x, y])), chi (a = b ^ (~b[x+1] & b[x+2]) along
 * each row), iota (a[0, 0] ^= RC[round]). */
static ALWAYS_INLINE void
keccak_f1600_body(uint64_t st[25])
{
    uint64_t a00, a01, a02, a03, a04, a05, a06, a07, a08, a09, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24;
    uint64_t b00, b01, b02, b03, b04, b05, b06, b07, b08, b09, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24;
    uint64_t c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;
    int round;
    a00 = st[0];
    a01 = st[1];
    a02 = st[2];
    a03 = st[3];
    a04 = st[4];
    a05 = st[5];
    a06 = st[6];
    a07 = st[7];
    a08 = st[8];
    a09 = st[9];
    a10 = st[10];
    a11 = st[11];
    a12 = st[12];
    a13 = st[13];
    a14 = st[14];
    a15 = st[15];
    a16 = st[16];
    a17 = st[17];
    a18 = st[18];
    a19 = st[19];
    a20 = st[20];
    a21 = st[21];
    a22 = st[22];
    a23 = st[23];
    a24 = st[24];
    for (round = 0; round < 24; round++) {
        c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20;
        c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21;
        c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22;
        c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23;
        c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24;
        d0 = c4 ^ ROL64(c1, 1);
        d1 = c0 ^ ROL64(c2, 1);
        d2 = c1 ^ ROL64(c3, 1);
        d3 = c2 ^ ROL64(c4, 1);
        d4 = c3 ^ ROL64(c0, 1);
        b00 = a00 ^ d0;
        b10 = ROL64(a01 ^ d1, 1);
        b20 = ROL64(a02 ^ d2, 62);
        b05 = ROL64(a03 ^ d3, 28);
        b15 = ROL64(a04 ^ d4, 27);
        b16 = ROL64(a05 ^ d0, 36);
        b01 = ROL64(a06 ^ d1, 44);
        b11 = ROL64(a07 ^ d2, 6);
        b21 = ROL64(a08 ^ d3, 55);
        b06 = ROL64(a09 ^ d4, 20);
        b07 = ROL64(a10 ^ d0, 3);
        b17 = ROL64(a11 ^ d1, 10);
        b02 = ROL64(a12 ^ d2, 43);
        b12 = ROL64(a13 ^ d3, 25);
        b22 = ROL64(a14 ^ d4, 39);
        b23 = ROL64(a15 ^ d0, 41);
        b08 = ROL64(a16 ^ d1, 45);
        b18 = ROL64(a17 ^ d2, 15);
        b03 = ROL64(a18 ^ d3, 21);
        b13 = ROL64(a19 ^ d4, 8);
        b14 = ROL64(a20 ^ d0, 18);
        b24 = ROL64(a21 ^ d1, 2);
        b09 = ROL64(a22 ^ d2, 61);
        b19 = ROL64(a23 ^ d3, 56);
        b04 = ROL64(a24 ^ d4, 14);
        a00 = b00 ^ (~b01 & b02);
        a01 = b01 ^ (~b02 & b03);
        a02 = b02 ^ (~b03 & b04);
        a03 = b03 ^ (~b04 & b00);
        a04 = b04 ^ (~b00 & b01);
        a05 = b05 ^ (~b06 & b07);
        a06 = b06 ^ (~b07 & b08);
        a07 = b07 ^ (~b08 & b09);
        a08 = b08 ^ (~b09 & b05);
        a09 = b09 ^ (~b05 & b06);
        a10 = b10 ^ (~b11 & b12);
        a11 = b11 ^ (~b12 & b13);
        a12 = b12 ^ (~b13 & b14);
        a13 = b13 ^ (~b14 & b10);
        a14 = b14 ^ (~b10 & b11);
        a15 = b15 ^ (~b16 & b17);
        a16 = b16 ^ (~b17 & b18);
        a17 = b17 ^ (~b18 & b19);
        a18 = b18 ^ (~b19 & b15);
        a19 = b19 ^ (~b15 & b16);
        a20 = b20 ^ (~b21 & b22);
        a21 = b21 ^ (~b22 & b23);
        a22 = b22 ^ (~b23 & b24);
        a23 = b23 ^ (~b24 & b20);
        a24 = b24 ^ (~b20 & b21);
        a00 ^= KECCAK_RC[round];
    }
    st[0] = a00;
    st[1] = a01;
    st[2] = a02;
    st[3] = a03;
    st[4] = a04;
    st[5] = a05;
    st[6] = a06;
    st[7] = a07;
    st[8] = a08;
    st[9] = a09;
    st[10] = a10;
    st[11] = a11;
    st[12] = a12;
    st[13] = a13;
    st[14] = a14;
    st[15] = a15;
    st[16] = a16;
    st[17] = a17;
    st[18] = a18;
    st[19] = a19;
    st[20] = a20;
    st[21] = a21;
    st[22] = a22;
    st[23] = a23;
    st[24] = a24;
}

static void
keccak_f1600_generic(uint64_t st[25])
{
    keccak_f1600_body(st);
}

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
/* The same code where the CPU has BMI1: chi's ~a & b is one andn, which makes the permutation
 * about a quarter faster. Chosen at import (PyInit__speedups). */
#define KECCAK_BMI 1
__attribute__((target("bmi"))) static void
keccak_f1600_bmi(uint64_t st[25])
{
    keccak_f1600_body(st);
}
#endif

static void (*keccak_f1600)(uint64_t st[25]) = keccak_f1600_generic;

#define KECCAK_RATE 136 /* bytes: 1600 - 2 * 256 bits */

static inline uint64_t
load64le(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
#endif
}

static inline void
keccak_absorb(uint64_t st[25], const uint8_t block[KECCAK_RATE])
{
    int i;
    for (i = 0; i < KECCAK_RATE / 8; i++)
        st[i] ^= load64le(block + 8 * i);
    keccak_f1600(st);
}

/* Absorb the last len < KECCAK_RATE bytes with the padding, and squeeze the 32-byte digest. */
static void
keccak_final(uint64_t st[25], const uint8_t *data, size_t len, uint8_t out[32])
{
    uint8_t block[KECCAK_RATE];
    int i, j;
    memset(block, 0, sizeof block);
    if (len)
        memcpy(block, data, len);
    block[len] ^= 0x01; /* Keccak padding, as Ethereum uses (SHA3 would be 0x06) */
    block[KECCAK_RATE - 1] ^= 0x80;
    keccak_absorb(st, block);
    for (i = 0; i < 4; i++) {
        uint64_t v = st[i];
        for (j = 0; j < 8; j++) {
            out[8 * i + j] = (uint8_t)v;
            v >>= 8;
        }
    }
}

static void
keccak256(const uint8_t *data, size_t len, uint8_t out[32])
{
    uint64_t st[25];
    memset(st, 0, sizeof st);
    while (len >= KECCAK_RATE) {
        keccak_absorb(st, data);
        data += KECCAK_RATE;
        len -= KECCAK_RATE;
    }
    keccak_final(st, data, len, out);
}

/* ------------------------------------------------------------------------------ shared helpers */

/* GC_PAUSE: the batch functions pause the cyclic garbage collector while they run (and restore
 * its state after). What they create (entries, positions, ints, strings) holds no reference
 * cycles, but each allocation of a GC-tracked object counts towards the next collection, and a
 * batch of 100,000 entries would otherwise trigger hundreds of collections, each traversing
 * every live container: a third of decode_logs' time. Nothing is lost: the collector runs as
 * usual at the next allocation after the batch. */

static int8_t HEX_ANY[256];   /* value of [0-9a-fA-F], else -1 */
static int8_t HEX_LOWER[256]; /* value of [0-9a-f], else -1 */
static const char HEX_DIGITS[] = "0123456789abcdef";

static PyObject *ZERO, *ONE;
static PyObject *S_BALANCE, *S_PLEDGED_TOTAL, *S_UNPLEDGED_TOTAL, *S_FIRST_SEQ, *S_LAST_SEQ, *S_PLEDGED,
    *S_BACKER_COUNT, *S_TOPICS, *S_DATA, *S_BLOCK_NUMBER, *S_BLOCK_HASH, *S_TX_HASH, *S_LOG_INDEX,
    *S_BLOCK_TIMESTAMP;

/* 32-byte big-endian word of a u64 */
static inline void
word_u64(uint8_t *w, uint64_t v)
{
    int i;
    memset(w, 0, 24);
    for (i = 31; i >= 24; i--) {
        w[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* n hex digits (n even) from `table` into n / 2 bytes (out may be NULL: validate only); 0 if any is not a digit */
static inline int
hex_bytes(const int8_t *table, const char *p, size_t n, uint8_t *out)
{
    size_t i;
    for (i = 0; i < n; i += 2) {
        int hi = table[(uint8_t)p[i]], lo = table[(uint8_t)p[i + 1]];
        if ((hi | lo) < 0)
            return 0;
        if (out)
            out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* A Python int from n hex digits, all already checked to be digits; NULL without an exception for
 * more than 64 significant digits (the caller falls back to Python), NULL with one on failure. */
static PyObject *
long_from_hex_digits(const char *p, size_t n)
{
    char tmp[65];
    uint64_t v = 0;
    size_t i;
    while (n > 1 && *p == '0') {
        p++;
        n--;
    }
    if (n <= 16) {
        for (i = 0; i < n; i++)
            v = v << 4 | (uint64_t)HEX_ANY[(uint8_t)p[i]];
        return PyLong_FromUnsignedLongLong(v);
    }
    if (n > 64)
        return NULL;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    return PyLong_FromString(tmp, NULL, 16);
}

/* The ASCII characters of a str, or NULL (no exception) if `o` is not a str of ASCII characters. */
static inline const char *
ascii_chars(PyObject *o, Py_ssize_t *len)
{
    if (!PyUnicode_Check(o))
        return NULL;
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(o) < 0) {
        PyErr_Clear();
        return NULL;
    }
#endif
    if (!PyUnicode_IS_ASCII(o))
        return NULL;
    *len = PyUnicode_GET_LENGTH(o);
    return (const char *)PyUnicode_DATA(o);
}

/* A new str "0x" + n ASCII characters. */
static PyObject *
str_0x(const char *chars, Py_ssize_t n)
{
    PyObject *s = PyUnicode_New(n + 2, 127);
    if (s == NULL)
        return NULL;
    memcpy(PyUnicode_1BYTE_DATA(s), "0x", 2);
    memcpy(PyUnicode_1BYTE_DATA(s) + 2, chars, (size_t)n);
    return s;
}

/* A Python int exactly as int(s, 16) of the str `s` of these n ASCII characters when they are an
 * optional 0x/0X and 1 to 64 significant hex digits; NULL without an exception for anything else
 * (int() also takes signs, spaces, underscores...: the caller falls back to Python for those). */
static PyObject *
long_from_hex_chars(const char *p, Py_ssize_t n)
{
    Py_ssize_t i;
    if (n >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        n -= 2;
    }
    if (n == 0)
        return NULL;
    for (i = 0; i < n; i++)
        if (HEX_ANY[(uint8_t)p[i]] < 0)
            return NULL;
    return long_from_hex_digits(p, (size_t)n);
}

/* The 32-byte big-endian word of a Python int, as int.to_bytes(32, "big"): 1 on success, 0 (no
 * exception) for anything int.to_bytes would reject or that is not an int, -1 on an error. */
static int
long_to_word(PyObject *v, uint8_t out[32])
{
    unsigned long long x;
    if (!PyLong_Check(v))
        return 0;
    x = PyLong_AsUnsignedLongLong(v);
    if (x == (unsigned long long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
#if PY_VERSION_HEX >= 0x030D0000
        {
            Py_ssize_t need = PyLong_AsNativeBytes(
                v, out, 32, Py_ASNATIVEBYTES_BIG_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER
                                | Py_ASNATIVEBYTES_REJECT_NEGATIVE);
            if (need < 0) {
                if (!PyErr_ExceptionMatches(PyExc_ValueError) && !PyErr_ExceptionMatches(PyExc_OverflowError))
                    return -1;
                PyErr_Clear();
                return 0;
            }
            return need <= 32;
        }
#else
        if (_PyLong_AsByteArray((PyLongObject *)v, out, 32, 0, 0) < 0) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError))
                return -1;
            PyErr_Clear();
            return 0; /* negative, or 2**256 and above */
        }
        return 1;
#endif
    }
    word_u64(out, (uint64_t)x);
    return 1;
}

/* ------------------------------------------------------------------------------ keccak256() */

static PyObject *
sp_keccak256(PyObject *Py_UNUSED(module), PyObject *arg)
{
    Py_buffer view;
    uint8_t digest[32];
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len > 4096) {
        Py_BEGIN_ALLOW_THREADS
        keccak256((const uint8_t *)view.buf, (size_t)view.len, digest);
        Py_END_ALLOW_THREADS
    }
    else {
        keccak256((const uint8_t *)view.buf, (size_t)view.len, digest);
    }
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)digest, 32);
}

/* ------------------------------------------------------------------------------ replay_ndjson() */

/* One export line in the exact spelling ledger.export.ndjson_lines writes for an entry without
 * terms (ledger.export._CANONICAL), restricted to kind 2 or 3 and numbers that fit. */
typedef struct {
    uint64_t seq, campaign_id, block_number;
    int kind;
    const char *account;       /* "0x" and 40 lowercase hex digits */
    const char *amount;        /* significant decimal digits of the amount */
    size_t amount_len;
    uint8_t amount_word[32];
    uint8_t account_bytes[20], detail[32], head[32];
    const char *next; /* the first byte after the line's \n */
} export_line;

#define EXPECT(lit)                                                                  \
    do {                                                                             \
        size_t l_ = sizeof(lit) - 1;                                                 \
        if ((size_t)(end - p) < l_ || memcmp(p, lit, l_) != 0)                       \
            return 0;                                                                \
        p += l_;                                                                     \
    } while (0)

/* [0-9]+ at p: its end, or NULL if there is no digit */
static inline const char *
scan_digits(const char *p, const char *end)
{
    const char *start = p;
    while (p < end && (unsigned)(*p - '0') < 10)
        p++;
    return p == start ? NULL : p;
}

/* decimal digits [p, q) as a u64; 0 if the value does not fit */
static inline int
digits_u64(const char *p, const char *q, uint64_t *out)
{
    uint64_t v = 0;
    while (q - p > 1 && *p == '0')
        p++;
    if (q - p > 20)
        return 0;
    for (; p < q; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* decimal digits (no leading zero unless "0") into a 32-byte big-endian word; 0 if >= 2**256 */
static int
digits_word(const char *p, size_t n, uint8_t out[32])
{
    static const uint32_t POW10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};
    uint32_t limb[8] = {0}; /* little-endian 32-bit limbs */
    size_t done = 0;
    int k;
    if (n > 78)
        return 0;
    while (done < n) {
        size_t take = (done == 0 && n % 9) ? n % 9 : 9;
        uint32_t chunk = 0;
        uint64_t carry;
        size_t i;
        for (i = 0; i < take; i++)
            chunk = chunk * 10 + (uint32_t)(p[done + i] - '0');
        done += take;
        carry = chunk;
        for (k = 0; k < 8; k++) {
            uint64_t t = (uint64_t)limb[k] * POW10[take] + carry;
            limb[k] = (uint32_t)t;
            carry = t >> 32;
        }
        if (carry)
            return 0;
    }
    for (k = 0; k < 8; k++) {
        out[31 - 4 * k] = (uint8_t)limb[k];
        out[30 - 4 * k] = (uint8_t)(limb[k] >> 8);
        out[29 - 4 * k] = (uint8_t)(limb[k] >> 16);
        out[28 - 4 * k] = (uint8_t)(limb[k] >> 24);
    }
    return 1;
}

/* 1 if [p, end) starts with a complete canonical kind-2/3 line (filled into *ln), else 0: another
 * kind, another spelling, a number too large for the fast path, or no \n before `end`. */
static int
parse_export_line(const char *p, const char *end, export_line *ln)
{
    const char *q;

    EXPECT("{\"seq\":");
    if ((q = scan_digits(p, end)) == NULL || !digits_u64(p, q, &ln->seq))
        return 0;
    p = q;
    EXPECT(",\"kind\":");
    if (end - p < 2 || (p[0] != '2' && p[0] != '3') || p[1] != ',')
        return 0;
    ln->kind = p[0] - '0';
    p += 1;
    EXPECT(",\"campaign_id\":");
    if ((q = scan_digits(p, end)) == NULL || !digits_u64(p, q, &ln->campaign_id))
        return 0;
    p = q;
    EXPECT(",\"account\":\"0x");
    if (end - p < 40 || !hex_bytes(HEX_LOWER, p, 40, ln->account_bytes))
        return 0;
    ln->account = p - 2;
    p += 40;
    EXPECT("\",\"amount\":\"");
    if ((q = scan_digits(p, end)) == NULL)
        return 0;
    while (q - p > 1 && *p == '0')
        p++;
    ln->amount = p;
    ln->amount_len = (size_t)(q - p);
    if (!digits_word(p, ln->amount_len, ln->amount_word))
        return 0;
    p = q;
    EXPECT("\",\"detail\":\"0x");
    if (end - p < 64 || !hex_bytes(HEX_LOWER, p, 64, ln->detail))
        return 0;
    p += 64;
    EXPECT("\",\"head\":\"0x");
    if (end - p < 64 || !hex_bytes(HEX_LOWER, p, 64, ln->head))
        return 0;
    p += 64;
    EXPECT("\",\"block_number\":");
    if ((q = scan_digits(p, end)) == NULL || !digits_u64(p, q, &ln->block_number))
        return 0;
    p = q;
    EXPECT(",\"block_hash\":\"0x");
    if (end - p < 64 || !hex_bytes(HEX_LOWER, p, 64, NULL))
        return 0;
    p += 64;
    EXPECT("\",\"block_timestamp\":");
    if ((q = scan_digits(p, end)) != NULL)
        p = q;
    else
        EXPECT("null");
    EXPECT(",\"tx_hash\":\"0x");
    if (end - p < 64 || !hex_bytes(HEX_LOWER, p, 64, NULL))
        return 0;
    p += 64;
    EXPECT("\",\"log_index\":");
    if ((q = scan_digits(p, end)) == NULL)
        return 0;
    p = q;
    EXPECT("}");
    if (p < end && *p == '\r')
        p++;
    EXPECT("\n");
    ln->next = p;
    return 1;
}

/* Attribute access to the projections' records. Position and Campaign are slots dataclasses, so
 * each field is a member descriptor reading one object pointer at a fixed offset in the instance:
 * for an object of exactly such a type (generic getattr/setattr, the name resolving to a writable
 * T_OBJECT_EX member) the pointer is read and written directly, as PyMember_GetOne/SetOne would.
 * Any other object goes through PyObject_GetAttr/SetAttr. The offsets are found once per type
 * (a class whose fields are replaced after its first use here is not noticed). */

#define POSITION_FIELDS 5 /* in this order: */
static PyObject **const POSITION_NAMES[POSITION_FIELDS] = {&S_BALANCE, &S_PLEDGED_TOTAL, &S_UNPLEDGED_TOTAL,
                                                           &S_FIRST_SEQ, &S_LAST_SEQ};
enum { P_BALANCE, P_PLEDGED_TOTAL, P_UNPLEDGED_TOTAL, P_FIRST_SEQ, P_LAST_SEQ };
#define CAMPAIGN_FIELDS 3
static PyObject **const CAMPAIGN_NAMES[CAMPAIGN_FIELDS] = {&S_LAST_SEQ, &S_PLEDGED, &S_BACKER_COUNT};
enum { C_LAST_SEQ, C_PLEDGED, C_BACKER_COUNT };

typedef struct {
    PyTypeObject *type; /* a strong reference, or NULL */
    int direct;         /* the offsets below are valid for `type` */
    Py_ssize_t offset[POSITION_FIELDS > CAMPAIGN_FIELDS ? POSITION_FIELDS : CAMPAIGN_FIELDS];
} field_access;

static field_access POSITION_ACCESS, CAMPAIGN_ACCESS;

/* Point `access` at the type of `obj`, finding the fields' offsets; -1 on an error. */
static int
field_access_for(field_access *access, PyObject *obj, PyObject **const names[], int n)
{
    PyTypeObject *type = Py_TYPE(obj);
    Py_ssize_t offset[POSITION_FIELDS > CAMPAIGN_FIELDS ? POSITION_FIELDS : CAMPAIGN_FIELDS];
    int i, direct;
    if (access->type == type)
        return 0;
    direct = type->tp_getattro == PyObject_GenericGetAttr && type->tp_setattro == PyObject_GenericSetAttr;
    for (i = 0; i < n && direct; i++) {
        PyObject *descr = PyObject_GetAttr((PyObject *)type, *names[i]);
        if (descr == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError))
                return -1;
            PyErr_Clear();
            direct = 0;
        }
        else {
            if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
                PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
                offset[i] = member->offset;
                direct = member->type == T_OBJECT_EX && !(member->flags & READONLY)
                         && PyType_IsSubtype(type, PyDescr_TYPE(descr));
            }
            else
                direct = 0;
            Py_DECREF(descr);
        }
    }
    Py_INCREF(type);
    Py_XSETREF(access->type, type);
    access->direct = direct;
    if (direct)
        memcpy(access->offset, offset, (size_t)n * sizeof offset[0]);
    return 0;
}

/* obj.<field i>, a new reference (NULL on an error) */
static inline PyObject *
get_field(const field_access *access, PyObject *obj, PyObject **const names[], int i)
{
    if (access->direct) {
        PyObject *v = *(PyObject **)((char *)obj + access->offset[i]);
        if (v != NULL) {
            Py_INCREF(v);
            return v;
        }
    }
    return PyObject_GetAttr(obj, *names[i]); /* also raises AttributeError for an unset slot */
}

/* obj.<field i> = v; 0, or -1 on an error */
static inline int
set_field(const field_access *access, PyObject *obj, PyObject **const names[], int i, PyObject *v)
{
    if (access->direct) {
        PyObject **slot = (PyObject **)((char *)obj + access->offset[i]), *old = *slot;
        Py_INCREF(v);
        *slot = v;
        Py_XDECREF(old);
        return 0;
    }
    return PyObject_SetAttr(obj, *names[i], v);
}

/* obj.<field i> = obj.<field i> + delta (or - delta); 0, or -1 on an error */
static int
add_field(const field_access *access, PyObject *obj, PyObject **const names[], int i, PyObject *delta, int subtract)
{
    PyObject *old = get_field(access, obj, names, i), *sum;
    int r;
    if (old == NULL)
        return -1;
    sum = subtract ? PyNumber_Subtract(old, delta) : PyNumber_Add(old, delta);
    Py_DECREF(old);
    if (sum == NULL)
        return -1;
    r = set_field(access, obj, names, i, sum);
    Py_DECREF(sum);
    return r;
}

/* The Python objects one line touches. */
typedef struct {
    PyObject *cid, *campaign, *account, *key, *position, *amount; /* strong references or NULL */
} line_objects;

static void
release_line(line_objects *o)
{
    Py_CLEAR(o->cid);
    Py_CLEAR(o->campaign);
    Py_CLEAR(o->account);
    Py_CLEAR(o->key);
    Py_CLEAR(o->position);
    Py_CLEAR(o->amount);
}

/* 1 with the line's objects looked up, 0 when its campaign does not exist (apply_entry raises:
 * the line is left to Python), -1 on an error. Looking up changes nothing. */
static int
lookup_line(const export_line *ln, PyObject *campaigns, PyObject *positions, line_objects *o)
{
    if ((o->cid = PyLong_FromUnsignedLongLong(ln->campaign_id)) == NULL)
        return -1;
    o->campaign = PyDict_GetItemWithError(campaigns, o->cid);
    if (o->campaign == NULL)
        return PyErr_Occurred() ? -1 : 0;
    Py_INCREF(o->campaign);
    if ((o->account = PyUnicode_New(42, 127)) == NULL)
        return -1;
    memcpy(PyUnicode_1BYTE_DATA(o->account), ln->account, 42);
    if ((o->key = PyTuple_Pack(2, o->cid, o->account)) == NULL)
        return -1;
    o->position = PyDict_GetItemWithError(positions, o->key);
    if (o->position == NULL && PyErr_Occurred())
        return -1;
    Py_XINCREF(o->position);
    if (ln->amount_len <= 19) {
        uint64_t v = 0;
        size_t k;
        for (k = 0; k < ln->amount_len; k++)
            v = v * 10 + (uint64_t)(ln->amount[k] - '0');
        o->amount = PyLong_FromUnsignedLongLong(v);
    }
    else {
        char tmp[80];
        memcpy(tmp, ln->amount, ln->amount_len);
        tmp[ln->amount_len] = '\0';
        o->amount = PyLong_FromString(tmp, NULL, 10);
    }
    if (o->amount == NULL)
        return -1;
    if (field_access_for(&CAMPAIGN_ACCESS, o->campaign, CAMPAIGN_NAMES, CAMPAIGN_FIELDS) < 0)
        return -1;
    if (o->position != NULL && field_access_for(&POSITION_ACCESS, o->position, POSITION_NAMES, POSITION_FIELDS) < 0)
        return -1;
    return 1;
}

/* Apply one chained line to the projections exactly as ledger.projections.apply_entry does for
 * kinds 2 and 3. Returns 1 when applied, 0 when apply_entry would raise (nothing was changed:
 * the caller leaves the line to Python), -1 on an error. */
static int
apply_line(const export_line *ln, line_objects *o, PyObject *positions, PyObject *new_position)
{
    PyObject *seq = NULL, *old = NULL, *new = NULL, *first = NULL;
    PyObject *campaign = o->campaign, *amount = o->amount;
    const field_access *pa = &POSITION_ACCESS, *ca = &CAMPAIGN_ACCESS;
    PyObject **const *pn = POSITION_NAMES, **const *cn = CAMPAIGN_NAMES;
    int result = -1, cmp;

    /* the objects' field access was resolved by lookup_line; no Python code ran since */
    if (ln->kind == 3) { /* an unpledge beyond the position: apply_entry raises */
        PyObject *balance = o->position ? get_field(pa, o->position, pn, P_BALANCE) : (Py_INCREF(ZERO), ZERO);
        if (balance == NULL)
            goto done;
        cmp = PyObject_RichCompareBool(amount, balance, Py_GT);
        Py_DECREF(balance);
        if (cmp != 0) {
            result = cmp < 0 ? -1 : 0;
            goto done;
        }
    }
    /* from here on the entry applies */
    if ((seq = PyLong_FromUnsignedLongLong(ln->seq)) == NULL)
        goto done;
    if (o->position == NULL) {
        PyObject *args[2] = {o->cid, o->account};
        o->position = PyObject_Vectorcall(new_position, args, 2, NULL); /* new_position(campaign_id, backer) */
        if (o->position == NULL || PyDict_SetItem(positions, o->key, o->position) < 0
            || field_access_for(&POSITION_ACCESS, o->position, pn, POSITION_FIELDS) < 0)
            goto done;
    }
    if (set_field(ca, campaign, cn, C_LAST_SEQ, seq) < 0)
        goto done;
    if (ln->kind == 2) {
        if (add_field(pa, o->position, pn, P_PLEDGED_TOTAL, amount, 0) < 0)
            goto done;
        if ((first = get_field(pa, o->position, pn, P_FIRST_SEQ)) == NULL)
            goto done;
        cmp = PyObject_IsTrue(first); /* first_seq = first_seq or seq */
        if (cmp < 0 || (cmp == 0 && set_field(pa, o->position, pn, P_FIRST_SEQ, seq) < 0))
            goto done;
    }
    else if (add_field(pa, o->position, pn, P_UNPLEDGED_TOTAL, amount, 0) < 0)
        goto done;
    if (set_field(pa, o->position, pn, P_LAST_SEQ, seq) < 0)
        goto done;
    if ((old = get_field(pa, o->position, pn, P_BALANCE)) == NULL)
        goto done;
    if ((new = ln->kind == 2 ? PyNumber_Add(old, amount) : PyNumber_Subtract(old, amount)) == NULL)
        goto done;
    { /* _set_balance: the backer count follows positions going 0 -> >0 and >0 -> 0 */
        int old_zero, new_positive, old_positive, new_zero;
        if ((old_zero = PyObject_RichCompareBool(old, ZERO, Py_EQ)) < 0
            || (new_positive = PyObject_RichCompareBool(new, ZERO, Py_GT)) < 0)
            goto done;
        if (old_zero && new_positive) {
            if (add_field(ca, campaign, cn, C_BACKER_COUNT, ONE, 0) < 0)
                goto done;
        }
        else {
            if ((old_positive = PyObject_RichCompareBool(old, ZERO, Py_GT)) < 0
                || (new_zero = PyObject_RichCompareBool(new, ZERO, Py_EQ)) < 0)
                goto done;
            if (old_positive && new_zero && add_field(ca, campaign, cn, C_BACKER_COUNT, ONE, 1) < 0)
                goto done;
        }
        if (set_field(pa, o->position, pn, P_BALANCE, new) < 0)
            goto done;
    }
    if (add_field(ca, campaign, cn, C_PLEDGED, amount, ln->kind == 3) < 0)
        goto done;
    result = 1;
done:
    Py_XDECREF(seq);
    Py_XDECREF(old);
    Py_XDECREF(new);
    Py_XDECREF(first);
    return result;
}

/* A u64 from a Python int: 1, 0 (no exception) if it is out of range, -1 on another error. */
static int
as_u64(PyObject *o, uint64_t *out)
{
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
        return 0;
    }
    *out = (uint64_t)v;
    return 1;
}

PyDoc_STRVAR(replay_ndjson_doc,
"replay_ndjson(buffer, pos, head, length, last_block, campaigns, positions, new_position)\n"
"    -> (pos, handled, head, last_block)\n\n"
"Replay the export lines of `buffer` from offset `pos` while each is a complete canonical kind-2/3\n"
"line with seq length + 1 that chains to `head` and applies cleanly to the `campaigns` and\n"
"`positions` dicts (a new position is `new_position(campaign_id, backer)`). Returns the offset\n"
"of the first line not handled, how many were, and the head and highest block after them.");

static PyObject *
sp_replay_ndjson(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer view;
    Py_ssize_t pos, handled = 0;
    PyObject *head_obj, *length_obj, *last_block_obj, *campaigns, *positions, *new_position, *result = NULL;
    uint64_t length = 0, last_block = 0;
    uint8_t head[32], pre[224], digest[32];
    const char *p, *end;
    int r, gc_was_enabled = 0;

    if (!PyArg_ParseTuple(args, "y*nSOOO!O!O:replay_ndjson", &view, &pos, &head_obj, &length_obj,
                          &last_block_obj, &PyDict_Type, &campaigns, &PyDict_Type, &positions, &new_position))
        return NULL;
    if (pos < 0 || pos > view.len) {
        PyErr_SetString(PyExc_ValueError, "pos out of range");
        goto done;
    }
    if (PyBytes_GET_SIZE(head_obj) != 32) {
        PyErr_SetString(PyExc_ValueError, "head must be 32 bytes");
        goto done;
    }
    memcpy(head, PyBytes_AS_STRING(head_obj), 32);
    p = (const char *)view.buf + pos;
    end = (const char *)view.buf + view.len;
    if ((r = as_u64(length_obj, &length)) < 0 || (r > 0 && (r = as_u64(last_block_obj, &last_block)) < 0))
        goto done;
    if (r == 0 || length == UINT64_MAX || !PyDict_CheckExact(campaigns) || !PyDict_CheckExact(positions)) {
        result = Py_BuildValue("(nnOO)", pos, (Py_ssize_t)0, head_obj, last_block_obj);
        goto done;
    }
    /* the preimage: head, seq, kind, campaign id, account, amount, detail as 32-byte words */
    memset(pre, 0, sizeof pre);
    gc_was_enabled = PyGC_Disable(); /* see GC_PAUSE */
    while (p < end) {
        export_line ln;
        line_objects objects = {NULL, NULL, NULL, NULL, NULL, NULL};
        if (!parse_export_line(p, end, &ln) || ln.seq != length + 1)
            break;
        memcpy(pre, head, 32);
        word_u64(pre + 32, ln.seq);
        word_u64(pre + 64, (uint64_t)ln.kind);
        word_u64(pre + 96, ln.campaign_id);
        memset(pre + 128, 0, 12);
        memcpy(pre + 140, ln.account_bytes, 20);
        memcpy(pre + 160, ln.amount_word, 32);
        memcpy(pre + 192, ln.detail, 32);
        keccak256(pre, sizeof pre, digest);
        if (memcmp(digest, ln.head, 32) != 0) /* a head that does not chain */
            break;
        if ((r = lookup_line(&ln, campaigns, positions, &objects)) > 0)
            r = apply_line(&ln, &objects, positions, new_position);
        release_line(&objects);
        if (r < 0)
            goto done;
        if (r == 0) /* no such campaign, or an unpledge beyond the position */
            break;
        memcpy(head, digest, 32);
        length = ln.seq;
        if (ln.block_number > last_block)
            last_block = ln.block_number;
        handled++;
        p = ln.next;
    }
    result = Py_BuildValue("(nny#K)", (Py_ssize_t)(p - (const char *)view.buf), handled, (const char *)head,
                           (Py_ssize_t)32, (unsigned long long)last_block);
done:
    if (gc_was_enabled)
        PyGC_Enable();
    PyBuffer_Release(&view);
    return result;
}

/* ------------------------------------------------------------------------------ decode_logs() */

/* The members of one eth_getLogs log that ledger.events.decode_log reads for a Pledged, Unpledged
 * or Refunded event, as ASCII characters: taken from the str values of a log dict (decode_logs) or
 * straight from the JSON bytes of a whole answer (decode_logs_answer). build_entry does the rest
 * for both, so the two paths cannot drift apart. */
typedef struct {
    const char *topic[3], *data, *block_number, *log_index;
    const char *timestamp; /* NULL: absent or null */
    Py_ssize_t topic_len[3], data_len, block_number_len, log_index_len, timestamp_len;
    PyObject *block_hash, *tx_hash; /* borrowed: decode_log copies whatever they are; NULL: ... */
    const char *block_hash_chars, *tx_hash_chars; /* ... a new str of these characters */
    Py_ssize_t block_hash_len, tx_hash_len;
} log_fields;

/* A new str of n ASCII characters. */
static PyObject *
str_ascii(const char *chars, Py_ssize_t n)
{
    PyObject *s = PyUnicode_New(n, 127);
    if (s == NULL)
        return NULL;
    memcpy(PyUnicode_1BYTE_DATA(s), chars, (size_t)n);
    return s;
}

/* A new reference to `o`, or else a new str of the characters. */
static inline PyObject *
object_or_str(PyObject *o, const char *chars, Py_ssize_t n)
{
    if (o != NULL) {
        Py_INCREF(o);
        return o;
    }
    return str_ascii(chars, n);
}

/* The entry of a log with these fields, as decode_log builds it; NULL without an exception when the
 * log is not a Pledged/Unpledged/Refunded event of the exact shape (the caller then calls
 * decode_log), NULL with one on failure. */
static PyObject *
build_entry(const log_fields *lf, const char *topic_chars[3], PyObject *kinds, PyObject *zero_word,
            PyTypeObject *entry_type)
{
    PyObject *f[13] = {NULL};
    PyObject *entry;
    const char *data = lf->data, *t2 = lf->topic[2];
    Py_ssize_t n2 = lf->topic_len[2], i;
    int kind = -1;

    if (lf->topic_len[0] != 66)
        return NULL;
    for (i = 0; i < 3; i++)
        if (memcmp(lf->topic[0], topic_chars[i], 66) == 0) {
            kind = (int)i;
            break;
        }
    /* three data words (amount, seq, head); int(word, 16) of the first two: plain hex digits only */
    if (kind < 0 || lf->data_len != 2 + 3 * 64 || !hex_bytes(HEX_ANY, data + 2, 128, NULL))
        return NULL;
    if ((f[0] = long_from_hex_digits(data + 66, 64)) == NULL) /* seq */
        goto fail;
    f[1] = PySequence_GetItem(kinds, kind);
    if (f[1] == NULL || (f[2] = long_from_hex_chars(lf->topic[1], lf->topic_len[1])) == NULL) /* campaign id */
        goto fail;
    if ((f[3] = n2 >= 40 ? str_0x(t2 + n2 - 40, 40) : str_0x(t2, n2)) == NULL) /* account */
        goto fail;
    if ((f[4] = long_from_hex_digits(data + 2, 64)) == NULL) /* amount */
        goto fail;
    Py_INCREF(zero_word);
    f[5] = zero_word;
    if ((f[6] = str_0x(data + 130, 64)) == NULL) /* head */
        goto fail;
    if ((f[7] = long_from_hex_chars(lf->block_number, lf->block_number_len)) == NULL)
        goto fail;
    if ((f[8] = object_or_str(lf->block_hash, lf->block_hash_chars, lf->block_hash_len)) == NULL)
        goto fail;
    if ((f[9] = object_or_str(lf->tx_hash, lf->tx_hash_chars, lf->tx_hash_len)) == NULL)
        goto fail;
    if ((f[10] = long_from_hex_chars(lf->log_index, lf->log_index_len)) == NULL)
        goto fail;
    if (lf->timestamp == NULL || lf->timestamp_len == 0) { /* int(t, 16) if t else None */
        Py_INCREF(Py_None);
        f[11] = Py_None;
    }
    else if ((f[11] = long_from_hex_chars(lf->timestamp, lf->timestamp_len)) == NULL)
        goto fail;
    Py_INCREF(Py_None);
    f[12] = Py_None; /* terms */
    if ((entry = entry_type->tp_alloc(entry_type, 13)) == NULL)
        goto fail;
    for (i = 0; i < 13; i++)
        PyTuple_SET_ITEM(entry, i, f[i]); /* steals */
    return entry;
fail:
    for (i = 0; i < 13; i++)
        Py_XDECREF(f[i]);
    return NULL;
}

/* The entry of one log dict (see build_entry); NULL without an exception when a member it reads is
 * missing or not an ASCII str (or for the timestamp, None). */
static PyObject *
decode_one(PyObject *raw, const char *topic_chars[3], PyObject *kinds, PyObject *zero_word, PyTypeObject *entry_type)
{
    log_fields lf;
    PyObject *topics, *o;
    int i;

    memset(&lf, 0, sizeof lf);
    if (!PyDict_CheckExact(raw))
        return NULL;
    if ((topics = PyDict_GetItemWithError(raw, S_TOPICS)) == NULL || !PyList_CheckExact(topics)
        || PyList_GET_SIZE(topics) != 3)
        return NULL;
    for (i = 0; i < 3; i++)
        if ((lf.topic[i] = ascii_chars(PyList_GET_ITEM(topics, i), &lf.topic_len[i])) == NULL)
            return NULL;
    if ((o = PyDict_GetItemWithError(raw, S_DATA)) == NULL || (lf.data = ascii_chars(o, &lf.data_len)) == NULL)
        return NULL;
    if ((o = PyDict_GetItemWithError(raw, S_BLOCK_NUMBER)) == NULL
        || (lf.block_number = ascii_chars(o, &lf.block_number_len)) == NULL)
        return NULL;
    if ((o = PyDict_GetItemWithError(raw, S_LOG_INDEX)) == NULL
        || (lf.log_index = ascii_chars(o, &lf.log_index_len)) == NULL)
        return NULL;
    if ((lf.block_hash = PyDict_GetItemWithError(raw, S_BLOCK_HASH)) == NULL
        || (lf.tx_hash = PyDict_GetItemWithError(raw, S_TX_HASH)) == NULL)
        return NULL;
    o = PyDict_GetItemWithError(raw, S_BLOCK_TIMESTAMP);
    if (o == NULL && PyErr_Occurred())
        return NULL;
    if (o != NULL && o != Py_None && (lf.timestamp = ascii_chars(o, &lf.timestamp_len)) == NULL)
        return NULL;
    return build_entry(&lf, topic_chars, kinds, zero_word, entry_type);
}

static int
check_entry_type(PyObject *o)
{
    if (!PyType_Check(o) || !PyType_IsSubtype((PyTypeObject *)o, &PyTuple_Type)
        || ((PyTypeObject *)o)->tp_basicsize != PyTuple_Type.tp_basicsize
        || ((PyTypeObject *)o)->tp_itemsize != PyTuple_Type.tp_itemsize) {
        PyErr_SetString(PyExc_TypeError, "entry_type must be a NamedTuple class");
        return -1;
    }
    return 0;
}

/* The checks decode_logs and decode_logs_answer share on their (topics, kinds, entry_type) arguments;
 * topic_chars gets the characters of the three topics. */
static int
check_decode_args(PyObject *topics, PyObject *kinds, PyObject *entry_type, const char *topic_chars[3])
{
    int i;
    if (check_entry_type(entry_type) < 0)
        return -1;
    if (PyTuple_GET_SIZE(topics) != 3 || PyTuple_GET_SIZE(kinds) != 3) {
        PyErr_SetString(PyExc_ValueError, "three topics and three kinds");
        return -1;
    }
    for (i = 0; i < 3; i++) {
        Py_ssize_t len;
        topic_chars[i] = ascii_chars(PyTuple_GET_ITEM(topics, i), &len);
        if (topic_chars[i] == NULL || len != 66) {
            PyErr_SetString(PyExc_ValueError, "topics are 0x and 64 hex digits");
            return -1;
        }
    }
    return 0;
}

PyDoc_STRVAR(decode_logs_doc,
"decode_logs(logs, topics, kinds, zero_word, entry_type, fallback) -> list\n\n"
"[decode_log(raw) for raw in logs], decoding in C each log whose topic0 is one of the three\n"
"`topics` (lowercase 0x-hex; `kinds` are their Kind members) with the exact shape of those events,\n"
"and calling `fallback(raw)` for every other log.");

static PyObject *
sp_decode_logs(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *logs, *topics, *kinds, *zero_word, *entry_type, *fallback, *seq = NULL, *out = NULL;
    const char *topic_chars[3];
    Py_ssize_t i, n;
    int gc_was_enabled = 0;

    if (!PyArg_ParseTuple(args, "OO!O!UOO:decode_logs", &logs, &PyTuple_Type, &topics, &PyTuple_Type, &kinds,
                          &zero_word, &entry_type, &fallback))
        return NULL;
    if (check_decode_args(topics, kinds, entry_type, topic_chars) < 0)
        return NULL;
    if ((seq = PySequence_Tuple(logs)) == NULL) /* a snapshot: fallback() may run any code */
        return NULL;
    n = PyTuple_GET_SIZE(seq);
    if ((out = PyList_New(0)) == NULL)
        goto error;
    gc_was_enabled = PyGC_Disable(); /* see GC_PAUSE */
    for (i = 0; i < n; i++) {
        PyObject *raw = PyTuple_GET_ITEM(seq, i);
        PyObject *entry = decode_one(raw, topic_chars, kinds, zero_word, (PyTypeObject *)entry_type);
        int r;
        if (entry == NULL) {
            if (PyErr_Occurred())
                goto error;
            if ((entry = PyObject_CallOneArg(fallback, raw)) == NULL)
                goto error;
        }
        r = PyList_Append(out, entry);
        Py_DECREF(entry);
        if (r < 0)
            goto error;
    }
    if (gc_was_enabled)
        PyGC_Enable();
    Py_DECREF(seq);
    return out;
error:
    if (gc_was_enabled)
        PyGC_Enable();
    Py_XDECREF(seq);
    Py_XDECREF(out);
    return NULL;
}

/* ------------------------------------------------------------------------------ decode_logs_answer() */

/* decode_logs_answer decodes a whole eth_getLogs answer straight from its bytes: orjson.loads would
 * build a dict of a dozen strs per log first, which costs more than decoding the entries from it.
 *
 * Exactness rests on one rule: the scanner reads the ENTIRE body before anything is decoded or
 * called back, and accepts only a subset of what orjson accepts, so that whenever it returns a
 * result orjson.loads(body) would have succeeded too, with each log object equal to
 * orjson.loads(its bytes). Then every log decoded here gives what decode_logs gives on orjson's
 * dict, every other log goes to fallback(its bytes) = decode_log(orjson.loads(its bytes)) in the
 * same order (so the first exception is the same one), and the caller decodes the envelope around
 * the result array with orjson. For anything outside the subset it returns None and the caller
 * decodes the body the old way. The subset is strict RFC 8259 JSON (its whitespace, strings,
 * escapes, numbers, literals) less: any byte >= 0x80 (nodes send ASCII; no UTF-8 to validate),
 * escaped surrogates (orjson refuses lone ones), numbers that might overflow or underflow a double
 * (orjson refuses 1e400), nesting deeper than JSON_MAX_DEPTH (orjson's limit is 1024), bodies of
 * 4 GiB or more (offsets are 32-bit). At the top level it also wants exactly one "result" member,
 * an array of objects, and no "error" member and no escaped key (which could spell either). */

#define JSON_MAX_DEPTH 64
#define JSON_MAX_NUMBER 64 /* characters */

static uint8_t JSON_PLAIN[256]; /* 1 for the bytes a string holds unescaped: 0x20-0x7f but " and \ */

/* The members of a log object that decode_log reads, and what the last of each name holds (the
 * last one wins in orjson's dict, as in Python's). */
enum { JL_TOPICS, JL_DATA, JL_BLOCK_NUMBER, JL_BLOCK_HASH, JL_TX_HASH, JL_LOG_INDEX, JL_TIMESTAMP, JL_MEMBERS };
static const struct {
    const char *name;
    size_t len;
} JL_NAMES[JL_MEMBERS] = {
    {"topics", 6},           {"data", 4},     {"blockNumber", 11},     {"blockHash", 9},
    {"transactionHash", 15}, {"logIndex", 8}, {"blockTimestamp", 14}, /* the only one that may be absent: last */
};
enum { JF_ABSENT, JF_STRING, JF_NULL, JF_OTHER }; /* JF_STRING: without escapes; for topics: three of them */

typedef struct {
    uint32_t at, len; /* a string's characters, quotes excluded */
} json_span;

typedef struct {
    uint32_t start, end; /* the object, braces included */
    json_span member[JL_MEMBERS], topic[3];
    uint8_t state[JL_MEMBERS];
    uint8_t escaped_key; /* some key holds an escape: it may spell a member decode_log reads */
} json_log;

typedef struct {
    const uint8_t *base, *end;
    json_log *logs; /* PyMem_Raw: the scan runs without the GIL */
    size_t count, cap;
    uint32_t result_start, result_end;
    int result_seen, no_memory;
} json_answer;

static inline const uint8_t *
json_ws(const uint8_t *p, const uint8_t *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* After an element of a container that ends with `close`: 1 with *next at the next element (past
 * the ',' and whitespace), 0 with *next just past `close` when the container ends there, -1 for
 * anything else. */
static inline int
json_next(const uint8_t *p, const uint8_t *end, uint8_t close, const uint8_t **next)
{
    p = json_ws(p, end);
    if (p >= end)
        return -1;
    if (*p == close) {
        *next = p + 1;
        return 0;
    }
    if (*p != ',')
        return -1;
    *next = json_ws(p + 1, end);
    return 1;
}

/* The string at p (its opening quote): the byte after its closing quote, or NULL if it is invalid or
 * outside the subset. *escaped: whether it holds an escape. */
static const uint8_t *
json_string(const uint8_t *p, const uint8_t *end, int *escaped)
{
    *escaped = 0;
    p++;
    for (;;) {
#ifdef __SSE2__
        /* 16 bytes at a time up to the first that is not plain: most of an answer is hex strings */
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)p);
            __m128i stop = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), /* signed: also >= 0x80 */
                                        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
            int mask = _mm_movemask_epi8(stop);
            if (mask) {
                p += __builtin_ctz((unsigned int)mask);
                break;
            }
            p += 16;
        }
#endif
        while (p < end && JSON_PLAIN[*p])
            p++;
        if (p >= end)
            return NULL;
        if (*p == '"')
            return p + 1;
        if (*p != '\\') /* a control character or a byte >= 0x80 */
            return NULL;
        *escaped = 1;
        if (++p >= end)
            return NULL;
        switch (*p) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p++;
            break;
        case 'u':
            if (end - p < 5 || !hex_bytes(HEX_ANY, (const char *)p + 1, 4, NULL))
                return NULL;
            if ((HEX_ANY[p[1]] << 4 | HEX_ANY[p[2]]) >= 0xd8 && (HEX_ANY[p[1]] << 4 | HEX_ANY[p[2]]) <= 0xdf)
                return NULL; /* a surrogate: orjson wants it paired; refused either way */
            p += 5;
            break;
        default:
            return NULL;
        }
    }
}

/* The number at p: the byte after it, or NULL if it is not a JSON number or is outside the subset:
 * orjson refuses a number that overflows a double, so the subset keeps to at most JSON_MAX_NUMBER
 * characters, an exponent of at most 300 either way, and a magnitude under 1e300. */
static const uint8_t *
json_number(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *start = p, *digits;
    long int_digits = 1, exponent = 0;
    int negative_exponent = 0;

    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (p < end && *p >= '1' && *p <= '9') {
        for (digits = p; p < end && *p >= '0' && *p <= '9'; p++)
            ;
        int_digits = (long)(p - digits);
    }
    else
        return NULL;
    if (p < end && *p == '.') {
        for (digits = ++p; p < end && *p >= '0' && *p <= '9'; p++)
            ;
        if (p == digits)
            return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            negative_exponent = *p++ == '-';
        for (digits = p; p < end && *p >= '0' && *p <= '9'; p++)
            if (exponent < 1000)
                exponent = exponent * 10 + (*p - '0');
        if (p == digits)
            return NULL;
    }
    if (p - start > JSON_MAX_NUMBER || exponent > 300 || (!negative_exponent && int_digits + exponent > 300))
        return NULL;
    return p;
}

static inline const uint8_t *
json_literal(const uint8_t *p, const uint8_t *end, const char *lit, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

/* Any value at p inside `depth` containers, checked and skipped: the byte after it, or NULL. */
static const uint8_t *
json_value(const uint8_t *p, const uint8_t *end, int depth)
{
    int escaped, r;
    char close;
    if (p >= end)
        return NULL;
    switch (*p) {
    case '"':
        return json_string(p, end, &escaped);
    case 't':
        return json_literal(p, end, "true", 4);
    case 'f':
        return json_literal(p, end, "false", 5);
    case 'n':
        return json_literal(p, end, "null", 4);
    case '{':
    case '[':
        break;
    default:
        return json_number(p, end);
    }
    if (depth >= JSON_MAX_DEPTH)
        return NULL;
    close = *p == '{' ? '}' : ']';
    p = json_ws(p + 1, end);
    if (p < end && *p == close)
        return p + 1;
    for (;;) {
        if (close == '}') { /* "key" : */
            if (p >= end || *p != '"' || (p = json_string(p, end, &escaped)) == NULL)
                return NULL;
            p = json_ws(p, end);
            if (p >= end || *p != ':')
                return NULL;
            p = json_ws(p + 1, end);
        }
        if ((p = json_value(p, end, depth + 1)) == NULL || (r = json_next(p, end, (uint8_t)close, &p)) < 0)
            return NULL;
        if (r == 0)
            return p;
    }
}

/* The value of a member that decode_log reads, inside `depth` containers: its span and JF_STRING
 * if it is a string without escapes, JF_NULL for null, JF_OTHER for anything else. */
static const uint8_t *
json_field(const json_answer *a, const uint8_t *p, int depth, json_span *span, uint8_t *state)
{
    const uint8_t *q;
    int escaped;
    if (p < a->end && *p == '"') {
        if ((q = json_string(p, a->end, &escaped)) == NULL)
            return NULL;
        *state = escaped ? JF_OTHER : JF_STRING;
        span->at = (uint32_t)(p + 1 - a->base);
        span->len = (uint32_t)(q - 1 - (p + 1));
        return q;
    }
    if ((q = json_literal(p, a->end, "null", 4)) != NULL) {
        *state = JF_NULL;
        return q;
    }
    *state = JF_OTHER;
    return json_value(p, a->end, depth);
}

/* A log's topics, inside `depth` containers: JF_STRING and their spans if they are an array of
 * exactly three strings without escapes, JF_OTHER for anything else. */
static const uint8_t *
json_topics(const json_answer *a, const uint8_t *p, int depth, json_span topic[3], uint8_t *state)
{
    const uint8_t *end = a->end;
    int n = 0, plain = 1, r;
    *state = JF_OTHER;
    if (p >= end || *p != '[')
        return json_value(p, end, depth);
    if (depth >= JSON_MAX_DEPTH)
        return NULL;
    p = json_ws(p + 1, end);
    if (p < end && *p == ']')
        return p + 1;
    for (;;) {
        json_span span;
        uint8_t s;
        if ((p = json_field(a, p, depth + 1, &span, &s)) == NULL)
            return NULL;
        if (s != JF_STRING)
            plain = 0;
        else if (n < 3)
            topic[n] = span;
        n++;
        if ((r = json_next(p, end, ']', &p)) < 0)
            return NULL;
        if (r == 0)
            break;
    }
    if (plain && n == 3)
        *state = JF_STRING;
    return p;
}

/* Which member of JL_NAMES a key is, or -1. */
static inline int
json_member_of(const uint8_t *key, size_t n)
{
    int m;
    for (m = 0; m < JL_MEMBERS; m++)
        if (JL_NAMES[m].len == n && memcmp(key, JL_NAMES[m].name, n) == 0)
            return m;
    return -1;
}

/* The log object at p (the result array's element, so inside 2 containers): appended to a->logs
 * with the members decode_log reads. The byte after it, or NULL. */
static const uint8_t *
json_log_object(json_answer *a, const uint8_t *p)
{
    const uint8_t *end = a->end;
    json_log *obj;
    if (a->count == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 1024;
        json_log *logs = PyMem_RawRealloc(a->logs, cap * sizeof(json_log));
        if (logs == NULL) {
            a->no_memory = 1;
            return NULL;
        }
        a->logs = logs;
        a->cap = cap;
    }
    obj = &a->logs[a->count++];
    memset(obj, 0, sizeof *obj);
    obj->start = (uint32_t)(p - a->base);
    p = json_ws(p + 1, end);
    if (p < end && *p == '}') {
        obj->end = (uint32_t)(p + 1 - a->base);
        return p + 1;
    }
    for (;;) {
        const uint8_t *key;
        int escaped, m = -1, r;
        if (p >= end || *p != '"')
            return NULL;
        key = p + 1;
        if ((p = json_string(p, end, &escaped)) == NULL)
            return NULL;
        if (escaped)
            obj->escaped_key = 1;
        else
            m = json_member_of(key, (size_t)(p - 1 - key));
        p = json_ws(p, end);
        if (p >= end || *p != ':')
            return NULL;
        p = json_ws(p + 1, end);
        if (m == JL_TOPICS)
            p = json_topics(a, p, 3, obj->topic, &obj->state[m]);
        else if (m >= 0)
            p = json_field(a, p, 3, &obj->member[m], &obj->state[m]);
        else
            p = json_value(p, end, 3);
        if (p == NULL || (r = json_next(p, end, '}', &p)) < 0)
            return NULL;
        if (r == 0)
            break;
    }
    obj->end = (uint32_t)(p - a->base);
    return p;
}

/* The result array at p (inside the envelope): every element must be an object. */
static const uint8_t *
json_result(json_answer *a, const uint8_t *p)
{
    const uint8_t *end = a->end;
    int r = 0;
    a->result_start = (uint32_t)(p - a->base);
    p = json_ws(p + 1, end);
    if (p < end && *p == ']')
        p++;
    else
        do {
            if (p >= end || *p != '{' || (p = json_log_object(a, p)) == NULL || (r = json_next(p, end, ']', &p)) < 0)
                return NULL;
        } while (r > 0);
    a->result_end = (uint32_t)(p - a->base);
    return p;
}

/* Scan a whole answer (no Python calls: it runs without the GIL). 1 if it is in the subset, with
 * a->logs filled; 0 if not (or a->no_memory). */
static int
json_answer_scan(json_answer *a)
{
    const uint8_t *p = json_ws(a->base, a->end), *end = a->end;
    if (p >= end || *p != '{')
        return 0;
    p = json_ws(p + 1, end);
    if (p < end && *p == '}')
        return 0; /* no "result" */
    for (;;) {
        const uint8_t *key;
        size_t n;
        int escaped, r;
        if (p >= end || *p != '"')
            return 0;
        key = p + 1;
        if ((p = json_string(p, end, &escaped)) == NULL || escaped)
            return 0;
        n = (size_t)(p - 1 - key);
        if (n == 5 && memcmp(key, "error", 5) == 0)
            return 0; /* an error answer: plain JSON for the client to classify */
        p = json_ws(p, end);
        if (p >= end || *p != ':')
            return 0;
        p = json_ws(p + 1, end);
        if (n == 6 && memcmp(key, "result", 6) == 0) {
            if (a->result_seen || p >= end || *p != '[')
                return 0;
            a->result_seen = 1;
            p = json_result(a, p);
        }
        else
            p = json_value(p, end, 1);
        if (p == NULL || (r = json_next(p, end, '}', &p)) < 0)
            return 0;
        if (r == 0)
            break;
    }
    return json_ws(p, end) == end && a->result_seen;
}

/* The log_fields of a scanned log object; 0 if a member decode_log reads is not a plain string
 * (or null or absent, for the timestamp) or a key is escaped: decode_log decides then. */
static int
json_log_fields(const json_log *obj, const char *base, log_fields *lf)
{
    int m, i;
    if (obj->escaped_key || obj->state[JL_TIMESTAMP] == JF_OTHER)
        return 0;
    for (m = 0; m < JL_TIMESTAMP; m++) /* all the others */
        if (obj->state[m] != JF_STRING)
            return 0;
    for (i = 0; i < 3; i++) {
        lf->topic[i] = base + obj->topic[i].at;
        lf->topic_len[i] = obj->topic[i].len;
    }
#define MEMBER_CHARS(m, chars_, len_)           \
    do {                                        \
        chars_ = base + obj->member[m].at;      \
        len_ = (Py_ssize_t)obj->member[m].len;  \
    } while (0)
    MEMBER_CHARS(JL_DATA, lf->data, lf->data_len);
    MEMBER_CHARS(JL_BLOCK_NUMBER, lf->block_number, lf->block_number_len);
    MEMBER_CHARS(JL_LOG_INDEX, lf->log_index, lf->log_index_len);
    MEMBER_CHARS(JL_BLOCK_HASH, lf->block_hash_chars, lf->block_hash_len);
    MEMBER_CHARS(JL_TX_HASH, lf->tx_hash_chars, lf->tx_hash_len);
    lf->block_hash = lf->tx_hash = NULL;
    lf->timestamp = NULL;
    if (obj->state[JL_TIMESTAMP] == JF_STRING)
        MEMBER_CHARS(JL_TIMESTAMP, lf->timestamp, lf->timestamp_len);
#undef MEMBER_CHARS
    return 1;
}

PyDoc_STRVAR(decode_logs_answer_doc,
"decode_logs_answer(body, topics, kinds, zero_word, entry_type, fallback) -> (entries, start, end) | None\n\n"
"decode_logs(orjson.loads(body)[\"result\"], ...) straight from the bytes of an eth_getLogs answer,\n"
"calling `fallback(log_bytes)` (the JSON bytes of one log object) for every log decode_logs would\n"
"hand to decode_log. body[start:end] is the result array, for the caller to decode the rest.\n"
"None when the body is not an answer of the plain JSON this scanner takes (no \"result\" array,\n"
"an \"error\", non-ASCII bytes, invalid JSON...): the caller then decodes it with orjson.");

static PyObject *
sp_decode_logs_answer(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *body_arg, *body = NULL, *topics, *kinds, *zero_word, *entry_type, *fallback, *out = NULL;
    PyObject *result = NULL;
    const char *topic_chars[3], *base;
    json_answer a;
    Py_ssize_t len;
    size_t i;
    int ok, gc_was_enabled = 0;

    memset(&a, 0, sizeof a);
    if (!PyArg_ParseTuple(args, "OO!O!UOO:decode_logs_answer", &body_arg, &PyTuple_Type, &topics, &PyTuple_Type,
                          &kinds, &zero_word, &entry_type, &fallback))
        return NULL;
    if (check_decode_args(topics, kinds, entry_type, topic_chars) < 0)
        return NULL;
    /* bytes (a new reference to them, not a copy): immutable while the GIL is released and while
     * fallback runs, and sliced for it */
    if ((body = PyBytes_FromObject(body_arg)) == NULL)
        return NULL;
    base = PyBytes_AS_STRING(body);
    len = PyBytes_GET_SIZE(body);
    if ((uint64_t)len >= UINT32_MAX) {
        Py_DECREF(body);
        Py_RETURN_NONE;
    }
    a.base = (const uint8_t *)base;
    a.end = a.base + len;
    if (len > 65536) { /* other threads run meanwhile; for a small body the handover costs more */
        Py_BEGIN_ALLOW_THREADS
        ok = json_answer_scan(&a);
        Py_END_ALLOW_THREADS
    }
    else
        ok = json_answer_scan(&a);
    if (a.no_memory) {
        PyErr_NoMemory();
        goto done;
    }
    if (!ok) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    if ((out = PyList_New((Py_ssize_t)a.count)) == NULL)
        goto done;
    gc_was_enabled = PyGC_Disable(); /* see GC_PAUSE */
    for (i = 0; i < a.count; i++) {
        const json_log *obj = &a.logs[i];
        log_fields lf;
        PyObject *entry = NULL, *raw;
        if (json_log_fields(obj, base, &lf))
            entry = build_entry(&lf, topic_chars, kinds, zero_word, (PyTypeObject *)entry_type);
        if (entry == NULL) {
            if (PyErr_Occurred())
                goto done;
            if ((raw = PyBytes_FromStringAndSize(base + obj->start, (Py_ssize_t)(obj->end - obj->start))) == NULL)
                goto done;
            entry = PyObject_CallOneArg(fallback, raw);
            Py_DECREF(raw);
            if (entry == NULL)
                goto done;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, entry); /* steals; a list dropped half filled is fine */
    }
    result = Py_BuildValue("(OII)", out, (unsigned int)a.result_start, (unsigned int)a.result_end);
done:
    if (gc_was_enabled)
        PyGC_Enable();
    PyMem_RawFree(a.logs);
    Py_XDECREF(out);
    Py_DECREF(body);
    return result;
}

/* ------------------------------------------------------------------------------ verify_chain() */

PyDoc_STRVAR(verify_chain_doc,
"verify_chain(head, length, entries, start, entry_type) -> (count, head)\n\n"
"Check entries[start:] against a chain at `head` (32 bytes) after entry `length`, as\n"
"HashChain.append does, and stop at the first entry that is not of `entry_type`, does not follow\n"
"on or does not chain, or has a field append would not hash as plain 0x-hex or a uint256.\n"
"Returns how many entries chained and the head after the last of them.");

static PyObject *
sp_verify_chain(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *head_obj, *length_obj, *entries, *entry_type, *seq = NULL, *result = NULL;
    Py_ssize_t start, i, n, count = 0;
    uint64_t length = 0;
    uint8_t head[32], pre[224], digest[32];
    int r;

    if (!PyArg_ParseTuple(args, "SOOnO:verify_chain", &head_obj, &length_obj, &entries, &start, &entry_type))
        return NULL;
    if (check_entry_type(entry_type) < 0)
        return NULL;
    if (PyBytes_GET_SIZE(head_obj) != 32) {
        PyErr_SetString(PyExc_ValueError, "head must be 32 bytes");
        return NULL;
    }
    memcpy(head, PyBytes_AS_STRING(head_obj), 32);
    if ((r = as_u64(length_obj, &length)) < 0)
        return NULL;
    if ((seq = PySequence_Fast(entries, "entries must be a sequence")) == NULL)
        return NULL;
    n = PySequence_Fast_GET_SIZE(seq);
    if (start < 0 || start > n) {
        PyErr_SetString(PyExc_ValueError, "start out of range");
        goto done;
    }
    memset(pre, 0, sizeof pre);
    /* no Python code runs in this loop, so the borrowed items stay alive */
    for (i = start; r > 0 && i < n && length < UINT64_MAX; i++) {
        PyObject *e = PySequence_Fast_GET_ITEM(seq, i);
        const char *account, *detail, *h;
        Py_ssize_t na, nd, nh;
        uint64_t s;
        int k;

        if (Py_TYPE(e) != (PyTypeObject *)entry_type || PyTuple_GET_SIZE(e) < 7 || !PyLong_Check(PyTuple_GET_ITEM(e, 0)))
            break;
        if ((r = as_u64(PyTuple_GET_ITEM(e, 0), &s)) <= 0 || s != length + 1)
            break;
        if ((account = ascii_chars(PyTuple_GET_ITEM(e, 3), &na)) == NULL || na != 42
            || (detail = ascii_chars(PyTuple_GET_ITEM(e, 5), &nd)) == NULL || nd != 66
            || (h = ascii_chars(PyTuple_GET_ITEM(e, 6), &nh)) == NULL || nh != 66)
            break;
        memcpy(pre, head, 32);
        word_u64(pre + 32, s);
        if ((r = long_to_word(PyTuple_GET_ITEM(e, 1), pre + 64)) <= 0
            || (r = long_to_word(PyTuple_GET_ITEM(e, 2), pre + 96)) <= 0
            || (r = long_to_word(PyTuple_GET_ITEM(e, 4), pre + 160)) <= 0)
            break;
        memset(pre + 128, 0, 12);
        if (!hex_bytes(HEX_ANY, account + 2, 40, pre + 140) || !hex_bytes(HEX_ANY, detail + 2, 64, pre + 192))
            break;
        keccak256(pre, sizeof pre, digest);
        for (k = 0; k < 32; k++) /* digest.hex() == head[2:] */
            if (h[2 + 2 * k] != HEX_DIGITS[digest[k] >> 4] || h[3 + 2 * k] != HEX_DIGITS[digest[k] & 15])
                break;
        if (k < 32)
            break;
        memcpy(head, digest, 32);
        length = s;
        count++;
    }
    if (r < 0)
        goto done;
    result = Py_BuildValue("(ny#)", count, (const char *)head, (Py_ssize_t)32);
done:
    Py_DECREF(seq);
    return result;
}

/* ------------------------------------------------------------------------------ entry_jsons() */

/* EIP-55 in batches: the keccak of 40 lowercase hex characters is one Keccak-f[1600] permutation,
 * most of the cost of formatting an entry, so the accounts (and fee tokens) of a run of entries
 * are hashed four at a time, one per 64-bit lane of a vector register: the rounds of
 * keccak_f1600_body in GCC's vector extension, compiled for AVX-512VL and for AVX2 (chosen at
 * import, as keccak_f1600_bmi). Without either, one at a time. */

/* digest[0..19] = the first 20 bytes of keccak256(body[0..39]): one permutation of one block */
static void
keccak40_one(const uint8_t *body, uint8_t *digest)
{
    uint64_t st[25];
    int i;
    memset(st, 0, sizeof st);
    for (i = 0; i < 5; i++)
        st[i] = load64le(body + 8 * i);
    st[5] = UINT64_C(0x01);                 /* padding: byte 40 */
    st[16] = UINT64_C(0x8000000000000000); /* and byte 135, the last of the rate */
    keccak_f1600(st);
    for (i = 0; i < 20; i++)
        digest[i] = (uint8_t)(st[i / 8] >> (8 * (i % 8)));
}

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define KECCAK_LANES 1
#if defined(__clang__)
#define UNROLL_FULL _Pragma("unroll")
#else
#define UNROLL_FULL _Pragma("GCC unroll 32")
#endif

static const uint8_t KECCAK_RHO[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                                       25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};
static const uint8_t KECCAK_PI[25] = {0,  10, 20, 5,  15, 16, 1, 11, 21, 6, 7,  17, 2,
                                      12, 22, 23, 8,  18, 3,  13, 14, 24, 9, 19, 4}; /* where a[i] goes in b */

/* name(bodies, digests, n): keccak40_one of bodies[l] into digests[l] for each l < n, n at most the
 * lanes of vector type V, compiled for the instruction set `isa` */
#define DEFINE_KECCAK40_LANES(name, V, isa)                                                         \
    __attribute__((target(isa))) static void name(const uint8_t *const *bodies, uint8_t *const *digests, int n) \
    {                                                                                               \
        V a[25], b[25], c[5], d;                                                                    \
        int i, x, y, l, round;                                                                      \
        for (i = 0; i < 25; i++)                                                                    \
            a[i] = (V){0};                                                                          \
        for (l = 0; l < n; l++)                                                                     \
            for (i = 0; i < 5; i++)                                                                 \
                a[i][l] = load64le(bodies[l] + 8 * i);                                              \
        a[5] ^= UINT64_C(0x01);                                                                     \
        a[16] ^= UINT64_C(0x8000000000000000);                                                      \
        for (round = 0; round < 24; round++) {                                                      \
            UNROLL_FULL                                                                             \
            for (x = 0; x < 5; x++)                                                                 \
                c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];                         \
            UNROLL_FULL                                                                             \
            for (x = 0; x < 5; x++) {                                                               \
                d = c[(x + 4) % 5] ^ ROL64(c[(x + 1) % 5], 1);                                      \
                UNROLL_FULL                                                                         \
                for (y = 0; y < 25; y += 5)                                                         \
                    a[x + y] ^= d;                                                                  \
            }                                                                                       \
            b[0] = a[0];                                                                            \
            UNROLL_FULL                                                                             \
            for (i = 1; i < 25; i++)                                                                \
                b[KECCAK_PI[i]] = ROL64(a[i], KECCAK_RHO[i]);                                       \
            UNROLL_FULL                                                                             \
            for (y = 0; y < 25; y += 5) {                                                           \
                UNROLL_FULL                                                                         \
                for (x = 0; x < 5; x++)                                                             \
                    a[x + y] = b[x + y] ^ (~b[(x + 1) % 5 + y] & b[(x + 2) % 5 + y]);               \
            }                                                                                       \
            a[0] ^= KECCAK_RC[round];                                                               \
        }                                                                                           \
        for (l = 0; l < n; l++)                                                                     \
            for (i = 0; i < 20; i++)                                                                \
                digests[l][i] = (uint8_t)(a[i / 8][l] >> (8 * (i % 8)));                            \
    }

/* four lanes of 256 bits: with AVX-512VL the rotations and chi are single instructions and the
 * state fits the 32 registers (measured faster than eight lanes of 512 bits) */
typedef uint64_t keccak_v4 __attribute__((vector_size(32)));
DEFINE_KECCAK40_LANES(keccak40_x4_avx2, keccak_v4, "avx2")
DEFINE_KECCAK40_LANES(keccak40_x4_avx512vl, keccak_v4, "avx512f,avx512vl")

#define KECCAK_LANE_COUNT 4
static void (*keccak40_lanes)(const uint8_t *const *, uint8_t *const *, int) = NULL;
#endif /* KECCAK_LANES */

/* the first 20 bytes of keccak256 of each of the n 40-byte bodies */
static void
keccak40_many(const uint8_t *const *bodies, uint8_t *const *digests, Py_ssize_t n)
{
    Py_ssize_t i;
#ifdef KECCAK_LANES
    if (keccak40_lanes != NULL && n > 1) {
        for (i = 0; i < n; i += KECCAK_LANE_COUNT)
            keccak40_lanes(bodies + i, digests + i, (int)(n - i < KECCAK_LANE_COUNT ? n - i : KECCAK_LANE_COUNT));
        return;
    }
#endif
    for (i = 0; i < n; i++)
        keccak40_one(bodies[i], digests[i]);
}

/* NIBBLE_CASE[d]: 0x20 (the case bit) for each nibble of the digest byte d that is >= 8, high
 * nibble first (the order of the hex digits) */
static uint8_t NIBBLE_CASE[256][2];

/* "0x" and the 40 lowercase hex digits of `body` with a letter in upper case where the nibble
 * of the digest is >= 8 (EIP-55, as ledger.public.checksum) */
static inline char *
put_checksum(char *p, const uint8_t body[40], const uint8_t digest[20])
{
    uint8_t flip[40];
    int i;
    for (i = 0; i < 20; i++)
        memcpy(flip + 2 * i, NIBBLE_CASE[digest[i]], 2);
    p[0] = '0';
    p[1] = 'x';
    for (i = 0; i < 40; i++) /* digits are 0x30-0x39, letters 0x61-0x66: only letters have 0x40 */
        p[2 + i] = (char)(body[i] ^ (flip[i] & (body[i] & 0x40) >> 1));
    return p + 42;
}

static const char DIGIT_PAIRS[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                  "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                  "8081828384858687888990919293949596979899";

/* the decimal digits of v (written in place, from the last) */
static inline char *
put_u64(char *p, uint64_t v)
{
    int n = 1;
    uint64_t t = v;
    char *q;
    while (t >= 10000) {
        t /= 10000;
        n += 4;
    }
    n += (t >= 10) + (t >= 100) + (t >= 1000);
    q = p + n;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        q -= 2;
        memcpy(q, DIGIT_PAIRS + 2 * r, 2);
    }
    if (v >= 10)
        memcpy(q - 2, DIGIT_PAIRS + 2 * v, 2);
    else
        q[-1] = (char)('0' + v);
    return p + n;
}

static inline char *
put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

/* two decimal digits of v < 100 */
static inline char *
put_2(char *p, uint32_t v)
{
    memcpy(p, DIGIT_PAIRS + 2 * v, 2);
    return p + 2;
}

/* nine decimal digits of v < 10**9, zero-padded */
static inline char *
put_9(char *p, uint32_t v)
{
    uint32_t hi = v / 10000, lo = v % 10000; /* hi < 100000 */
    p[0] = (char)('0' + hi / 10000);
    put_2(p + 1, hi / 100 % 100);
    put_2(p + 3, hi % 100);
    put_2(p + 5, lo / 100);
    put_2(p + 7, lo % 100);
    return p + 9;
}

/* the decimal digits of a uint256 given as 8 little-endian 32-bit limbs (as str(int)) */
static char *
put_u256(char *p, const uint32_t limbs[8])
{
    uint32_t w[8], chunks[9];
    int top = 7, nc = 0, i;
    memcpy(w, limbs, sizeof w);
    while (top > 0 && w[top] == 0)
        top--;
    while (top >= 2) { /* divide by 10**9 until the rest fits 64 bits */
        uint64_t rem = 0;
        for (i = top; i >= 0; i--) {
            uint64_t cur = rem << 32 | w[i];
            w[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        chunks[nc++] = (uint32_t)rem;
        while (top > 0 && w[top] == 0)
            top--;
    }
    p = put_u64(p, (uint64_t)w[1] << 32 | w[0]);
    while (nc > 0)
        p = put_9(p, chunks[--nc]);
    return p;
}

/* "YYYY-MM-DDTHH:MM:SSZ" of a unix time in [0, 253402300800) (UTC, proleptic Gregorian: as
 * ledger.public.iso, with days-to-civil arithmetic instead of gmtime) */
static char *
put_iso(char *p, int64_t t)
{
    int64_t days = t / 86400, secs = t % 86400;
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2);
    p = put_2(p, (uint32_t)(year / 100));
    p = put_2(p, (uint32_t)(year % 100));
    *p++ = '-';
    p = put_2(p, (uint32_t)month);
    *p++ = '-';
    p = put_2(p, (uint32_t)day);
    *p++ = 'T';
    p = put_2(p, (uint32_t)(secs / 3600));
    *p++ = ':';
    p = put_2(p, (uint32_t)(secs / 60 % 60));
    *p++ = ':';
    p = put_2(p, (uint32_t)(secs % 60));
    *p++ = 'Z';
    return p;
}

/* The value of an int object (PyLong_Check) if it fits int64: 1, else 0 (no exception). Small
 * values (one or two digits on 3.11, compact ones on 3.12+) are read without a call. */
static ALWAYS_INLINE int
long_i64(PyObject *o, int64_t *out)
{
    int overflow;
    long long v;
#if PY_VERSION_HEX < 0x030C0000 && PyLong_SHIFT == 30
    const digit *d = ((PyLongObject *)o)->ob_digit;
    switch (Py_SIZE(o)) {
    case 0:
        *out = 0;
        return 1;
    case 1:
        *out = (int64_t)d[0];
        return 1;
    case -1:
        *out = -(int64_t)d[0];
        return 1;
    case 2:
        *out = (int64_t)((uint64_t)d[1] << PyLong_SHIFT | d[0]);
        return 1;
    case -2:
        *out = -(int64_t)((uint64_t)d[1] << PyLong_SHIFT | d[0]);
        return 1;
    }
#elif PY_VERSION_HEX >= 0x030C0000
    if (PyUnstable_Long_IsCompact((PyLongObject *)o)) {
        *out = (int64_t)PyUnstable_Long_CompactValue((PyLongObject *)o);
        return 1;
    }
#endif
    v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    *out = (int64_t)v;
    return 1;
}

/* An exact int that fits int64 (formatted by f"{x}" as str(x)); 0 for anything else. */
static ALWAYS_INLINE int
exact_i64(PyObject *o, int64_t *out)
{
    return PyLong_CheckExact(o) && long_i64(o, out);
}

/* The value of int(o) when that is plain int arithmetic: an int, or a subclass (Kind, an IntEnum)
 * that keeps int's __int__, fitting int64; 0 for anything else. */
static inline int
int_value_i64(PyObject *o, int64_t *out)
{
    if (!PyLong_Check(o))
        return 0;
    if (!PyLong_CheckExact(o)
        && (Py_TYPE(o)->tp_as_number == NULL || Py_TYPE(o)->tp_as_number->nb_int != PyLong_Type.tp_as_number->nb_int))
        return 0;
    return long_i64(o, out);
}

/* An exact int in [0, 2**256) as 8 little-endian 32-bit limbs: 1; 0 for anything else; -1 on an error. */
static int
exact_u256(PyObject *o, uint32_t limbs[8])
{
    int64_t v;
    int i;
    uint8_t le[32];
    if (!PyLong_CheckExact(o))
        return 0;
    if (long_i64(o, &v)) {
        if (v < 0)
            return 0;
        memset(limbs, 0, 8 * sizeof(uint32_t));
        limbs[0] = (uint32_t)v;
        limbs[1] = (uint32_t)((uint64_t)v >> 32);
        return 1;
    }
    if (_PyLong_Sign(o) < 0)
        return 0;
#if PY_VERSION_HEX >= 0x030D0000
    {
        Py_ssize_t need = PyLong_AsNativeBytes(
            o, le, 32, Py_ASNATIVEBYTES_LITTLE_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER | Py_ASNATIVEBYTES_REJECT_NEGATIVE);
        if (need < 0) {
            if (!PyErr_ExceptionMatches(PyExc_ValueError) && !PyErr_ExceptionMatches(PyExc_OverflowError))
                return -1;
            PyErr_Clear();
            return 0;
        }
        if (need > 32)
            return 0;
    }
#else
    if (_PyLong_AsByteArray((PyLongObject *)o, le, 32, 1, 0) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
        return 0; /* 2**256 and above */
    }
#endif
    for (i = 0; i < 8; i++)
        limbs[i] = (uint32_t)le[4 * i] | (uint32_t)le[4 * i + 1] << 8 | (uint32_t)le[4 * i + 2] << 16
                   | (uint32_t)le[4 * i + 3] << 24;
    return 1;
}

/* The characters of an exact str of ASCII (copied verbatim into the JSON text, by put_chars,
 * which also checks for '"' and '\\'), or NULL (no exception). */
static ALWAYS_INLINE const char *
plain_chars(PyObject *o, Py_ssize_t *len)
{
    if (!PyUnicode_CheckExact(o))
        return NULL;
    return ascii_chars(o, len);
}

/* Whether the n characters at p have no '"' or '\\' (which the JSON text would need escaped). */
static int
json_safe(const char *p, Py_ssize_t n)
{
    Py_ssize_t i;
    uint8_t bad = 0;
    for (i = 0; i < n; i++) /* no early exit: vectorized */
        bad |= (uint8_t)((p[i] == '"') | (p[i] == '\\'));
    return !bad;
}

/* The NamedTuple field names entry_json reads, in tuple order (LedgerEntry's 0..11). */
#define ENTRY_FIELDS 12
static const char *const ENTRY_FIELD_NAMES[ENTRY_FIELDS] = {
    "seq", "kind", "campaign_id", "account", "amount", "detail", "head",
    "block_number", "block_hash", "tx_hash", "log_index", "block_timestamp",
};
static PyObject *S_ENTRY_FIELD[ENTRY_FIELDS], *S_REDUCE;
static PyTypeObject *TUPLEGETTER;    /* collections' NamedTuple field descriptor type */
static PyTypeObject *ENTRY_TYPE_OK;  /* the last type that passed entry_type_ok, with ... */
static unsigned int ENTRY_TYPE_TAG;  /* ... its tp_version_tag then (any change to the class or
                                        its bases resets the tag) */

/* Whether `entry.seq` ... `entry.block_timestamp` of an instance of t are its items 0..11, as on
 * LedgerEntry: t is a tuple subclass with the default attribute lookup whose 12 names are
 * NamedTuple field descriptors of those indexes. entry_json reads the fields by name, so a plain
 * tuple or any other class is left to it. 1 yes, 0 no, -1 on an error.
 *
 * No Python code runs here (the garbage collector, whose finalizers could run any, is paused
 * while the descriptors are asked for their index), so the caller's borrowed references stay
 * valid. A class that passes is remembered in ENTRY_TYPE_OK (for the next calls) and in the
 * caller's `seen` (for this call: its instances keep it alive); the class it replaces in
 * ENTRY_TYPE_OK is handed to the caller to release when it is done (once per call). */
typedef struct {
    PyTypeObject *type; /* borrowed */
    unsigned int tag;
    PyObject *replaced; /* a reference to release at the end of the call, once set */
} seen_type;

static int
entry_type_ok(PyTypeObject *t, seen_type *seen)
{
    PyObject *descr[ENTRY_FIELDS];
    unsigned int tag;
    int i, ok = 1, gc_was_enabled;
    if (t == ENTRY_TYPE_OK && ENTRY_TYPE_TAG != 0 && t->tp_version_tag == ENTRY_TYPE_TAG)
        return 1;
    if (t == seen->type && seen->tag != 0 && t->tp_version_tag == seen->tag)
        return 1;
    if (TUPLEGETTER == NULL || t == &PyTuple_Type || t->tp_getattro != PyObject_GenericGetAttr)
        return 0;
    for (i = 0; i < ENTRY_FIELDS; i++) {
        descr[i] = _PyType_Lookup(t, S_ENTRY_FIELD[i]); /* borrowed */
        if (descr[i] == NULL || Py_TYPE(descr[i]) != TUPLEGETTER)
            return 0;
    }
    tag = t->tp_version_tag; /* the lookups gave it one if it had none */
    gc_was_enabled = PyGC_Disable(); /* see above */
    for (i = 0; i < ENTRY_FIELDS; i++)
        Py_INCREF(descr[i]);
    for (i = 0; i < ENTRY_FIELDS && ok > 0; i++) {
        /* _tuplegetter.__reduce__() -> (_tuplegetter, (index, doc)) */
        PyObject *r = PyObject_CallMethodNoArgs(descr[i], S_REDUCE), *args;
        Py_ssize_t index = -1;
        if (r == NULL) {
            ok = -1;
            break;
        }
        if (PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 2 && PyTuple_Check(args = PyTuple_GET_ITEM(r, 1))
            && PyTuple_GET_SIZE(args) >= 1 && PyLong_CheckExact(PyTuple_GET_ITEM(args, 0))) {
            index = PyLong_AsSsize_t(PyTuple_GET_ITEM(args, 0));
            if (index == -1)
                PyErr_Clear();
        }
        if (index != i)
            ok = 0;
        Py_DECREF(r);
    }
    for (i = 0; i < ENTRY_FIELDS; i++)
        Py_DECREF(descr[i]); /* still held by the class */
    if (gc_was_enabled)
        PyGC_Enable();
    if (ok > 0 && t->tp_version_tag != tag) /* changed while we looked: leave it to Python */
        ok = 0;
    if (ok > 0 && tag != 0) {
        seen->type = t;
        seen->tag = tag;
        if (seen->replaced == NULL) {
            seen->replaced = ENTRY_TYPE_OK != NULL ? (PyObject *)ENTRY_TYPE_OK : Py_None;
            if (ENTRY_TYPE_OK == NULL)
                Py_INCREF(Py_None);
            Py_INCREF(t);
            ENTRY_TYPE_OK = t;
            ENTRY_TYPE_TAG = tag;
        }
    }
    return ok;
}

/* One entry, checked and read by parse_entry, formatted by format_entry. */
typedef struct {
    int ok;                 /* 0: declined */
    int64_t seq, kind, campaign_id, block_number, log_index, timestamp; /* timestamp -1: None */
    const char *kind_name, *detail, *head, *block_hash, *tx_hash;
    Py_ssize_t kind_name_len, detail_len, head_len, block_hash_len, tx_hash_len;
    uint32_t amount[8], fee[8];
    uint8_t account[40], token[40];             /* lowercase hex digits */
    uint8_t account_digest[20], token_digest[20];
} entry_fields;

#define KIND_CLAIMED 5
#define KIND_FEES_WITHDRAWN 7
#define MAX_TIMESTAMP INT64_C(253402300800) /* 10000-01-01T00:00:00Z */

/* Fill f from `e` when it has the common shape (f->ok = 1), else f->ok = 0; -1 on an error.
 * (seen: see entry_type_ok) */
static int
parse_entry(PyObject *e, PyObject *kind_names, entry_fields *f, seen_type *seen)
{
    const char *account, *detail;
    PyObject *o;
    Py_ssize_t n, name_index;
    int r, i;
    uint8_t bad = 0;

    f->ok = 0;
    if (!PyTuple_Check(e) || PyTuple_GET_SIZE(e) < ENTRY_FIELDS)
        return 0;
    if ((r = entry_type_ok(Py_TYPE(e), seen)) <= 0)
        return r;
    if (!exact_i64(PyTuple_GET_ITEM(e, 0), &f->seq) || !int_value_i64(PyTuple_GET_ITEM(e, 1), &f->kind)
        || !exact_i64(PyTuple_GET_ITEM(e, 2), &f->campaign_id) || !exact_i64(PyTuple_GET_ITEM(e, 7), &f->block_number)
        || !exact_i64(PyTuple_GET_ITEM(e, 10), &f->log_index))
        return 0;
    n = PyTuple_GET_SIZE(kind_names);
    if (n == 0)
        return 0;
    name_index = f->kind > 0 && f->kind < (int64_t)n ? (Py_ssize_t)f->kind : 0;
    if ((f->kind_name = plain_chars(PyTuple_GET_ITEM(kind_names, name_index), &f->kind_name_len)) == NULL)
        return 0;
    if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(e, 3)) || (account = ascii_chars(PyTuple_GET_ITEM(e, 3), &n)) == NULL
        || n != 42 || account[0] != '0' || account[1] != 'x')
        return 0;
    for (i = 0; i < 40; i++) { /* [0-9a-f] */
        uint8_t c = (uint8_t)account[2 + i];
        bad |= (uint8_t)(((uint8_t)(c - '0') > 9) & ((uint8_t)(c - 'a') > 5));
        f->account[i] = c;
    }
    if (bad)
        return 0;
    if ((r = exact_u256(PyTuple_GET_ITEM(e, 4), f->amount)) <= 0)
        return r;
    if ((detail = f->detail = plain_chars(PyTuple_GET_ITEM(e, 5), &f->detail_len)) == NULL
        || (f->head = plain_chars(PyTuple_GET_ITEM(e, 6), &f->head_len)) == NULL
        || (f->block_hash = plain_chars(PyTuple_GET_ITEM(e, 8), &f->block_hash_len)) == NULL
        || (f->tx_hash = plain_chars(PyTuple_GET_ITEM(e, 9), &f->tx_hash_len)) == NULL)
        return 0;
    if (f->kind == KIND_CLAIMED || f->kind == KIND_FEES_WITHDRAWN) {
        uint8_t word[32];
        if (f->detail_len != 66 || detail[0] != '0' || detail[1] != 'x' || !hex_bytes(HEX_ANY, detail + 2, 64, word))
            return 0;
        if (f->kind == KIND_CLAIMED) /* int(detail, 16) */
            for (i = 0; i < 8; i++)
                f->fee[i] = (uint32_t)word[31 - 4 * i] | (uint32_t)word[30 - 4 * i] << 8
                            | (uint32_t)word[29 - 4 * i] << 16 | (uint32_t)word[28 - 4 * i] << 24;
        else /* "0x" + detail[-40:], lowercased by checksum() */
            for (i = 0; i < 40; i++)
                f->token[i] = (uint8_t)HEX_DIGITS[HEX_ANY[(uint8_t)detail[26 + i]]];
    }
    o = PyTuple_GET_ITEM(e, 11);
    if (o == Py_None)
        f->timestamp = -1;
    else if (!exact_i64(o, &f->timestamp) || f->timestamp < 0 || f->timestamp >= MAX_TIMESTAMP)
        return 0;
    f->ok = 1;
    return 0;
}

#define PUT(lit)                                   \
    do {                                           \
        memcpy(p, lit, sizeof(lit) - 1);           \
        p += sizeof(lit) - 1;                      \
    } while (0)
#define PUT_CHARS(s, n) (p = put_chars(p, s, n, &bad))

#if defined(__GNUC__) || defined(__clang__)
typedef char chars16 __attribute__((vector_size(16)));
#endif

/* n characters of s, setting *bad if any is '"' or '\\': checked and copied 16 at a time (the
 * usual 66-character hashes in five moves rather than a memcpy call and a separate scan) */
static ALWAYS_INLINE char *
put_chars(char *p, const char *s, Py_ssize_t n, int *bad)
{
#if defined(__GNUC__) || defined(__clang__)
    Py_ssize_t i;
    chars16 v, hits = {0};
    uint64_t half[2];
    if (n >= 16) {
        for (i = 0; i + 16 <= n; i += 16) {
            memcpy(&v, s + i, 16);
            hits |= (v == '"') | (v == '\\');
            memcpy(p + i, &v, 16);
        }
        memcpy(&v, s + n - 16, 16); /* the rest, overlapping */
        hits |= (v == '"') | (v == '\\');
        memcpy(p + n - 16, &v, 16);
        memcpy(half, &hits, 16);
        *bad |= (half[0] | half[1]) != 0;
        return p + n;
    }
#endif
    *bad |= !json_safe(s, n);
    memcpy(p, s, (size_t)n);
    return p + n;
}

/* the fixed text, the numbers, the account, fee, token and time all fit in this many characters;
 * the copied strings come on top */
#define ENTRY_JSON_FIXED 768

/* The text of ledger.public.entry_json, written from `buf` on (big enough: see entry_json_size);
 * -1 if a copied string has a '"' or '\\' */
static Py_ssize_t
format_entry(const entry_fields *f, char *buf)
{
    char *p = buf;
    int bad = 0;
    PUT("{\"seq\":");
    p = put_i64(p, f->seq);
    PUT(",\"kind\":");
    p = put_i64(p, f->kind);
    PUT(",\"kind_name\":\"");
    PUT_CHARS(f->kind_name, f->kind_name_len);
    PUT("\",\"campaign_id\":");
    p = put_i64(p, f->campaign_id);
    PUT(",\"account\":\"");
    p = put_checksum(p, f->account, f->account_digest);
    PUT("\",\"amount\":\"");
    p = put_u256(p, f->amount);
    PUT("\",\"detail\":\"");
    PUT_CHARS(f->detail, f->detail_len);
    PUT("\",\"fee\":");
    if (f->kind == KIND_CLAIMED) {
        *p++ = '"';
        p = put_u256(p, f->fee);
        *p++ = '"';
    }
    else
        PUT("null");
    PUT(",\"fee_token\":");
    if (f->kind == KIND_FEES_WITHDRAWN) {
        *p++ = '"';
        p = put_checksum(p, f->token, f->token_digest);
        *p++ = '"';
    }
    else
        PUT("null");
    PUT(",\"head\":\"");
    PUT_CHARS(f->head, f->head_len);
    PUT("\",\"block_number\":");
    p = put_i64(p, f->block_number);
    PUT(",\"block_hash\":\"");
    PUT_CHARS(f->block_hash, f->block_hash_len);
    PUT("\",\"block_time\":");
    if (f->timestamp >= 0) {
        *p++ = '"';
        p = put_iso(p, f->timestamp);
        *p++ = '"';
    }
    else
        PUT("null");
    PUT(",\"tx_hash\":\"");
    PUT_CHARS(f->tx_hash, f->tx_hash_len);
    PUT("\",\"log_index\":");
    p = put_i64(p, f->log_index);
    return bad ? -1 : (Py_ssize_t)(p - buf);
}

static inline Py_ssize_t
entry_json_size(const entry_fields *f)
{
    return ENTRY_JSON_FIXED + f->kind_name_len + f->detail_len + f->head_len + f->block_hash_len + f->tx_hash_len;
}

PyDoc_STRVAR(entry_jsons_doc,
"entry_jsons(entries, kind_names) -> list\n\n"
"[ledger.public.entry_json(e) for e in entries] for the entries (LedgerEntry) of the common shape,\n"
"None for every other (the caller formats those in Python): int fields that fit int64, a lowercase\n"
"0x-address, a uint256 amount, ASCII strings without '\"' or '\\', a block time of years 1970-9999\n"
"or None, and a 0x-word detail on kinds 5 and 7. `kind_names[kind]` is the kind's name (index 0 for\n"
"a kind out of range).");

#define ENTRY_CHUNK 64 /* entries parsed, then hashed together, then formatted */

/* Ask for the memory of entries[k] (the tuple, its items, the characters of its strings) while an
 * earlier entry is parsed: a batch of entries is far larger than the caches, and its objects are
 * reached through pointers, which the hardware prefetcher does not follow. */
#define PREFETCH_AHEAD 4
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(addr) __builtin_prefetch(addr)
#else
#define PREFETCH(addr) ((void)(addr))
#endif

static inline void
prefetch_entry(PyObject *list, Py_ssize_t k, Py_ssize_t n)
{
    PyObject *e;
    Py_ssize_t i;
    if (k + PREFETCH_AHEAD < n)
        PREFETCH(PyList_GET_ITEM(list, k + PREFETCH_AHEAD)); /* the tuple, for the next round */
    if (k >= n || !PyTuple_Check(e = PyList_GET_ITEM(list, k)) || PyTuple_GET_SIZE(e) < ENTRY_FIELDS)
        return;
    for (i = 0; i < ENTRY_FIELDS; i++) {
        const char *o = (const char *)PyTuple_GET_ITEM(e, i);
        PREFETCH(o);
        PREFETCH(o + 64);
    }
}

static PyObject *
sp_entry_jsons(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *entries, *kind_names, *out = NULL;
    seen_type seen = {NULL, 0, NULL};
    entry_fields fields[ENTRY_CHUNK];
    const uint8_t *bodies[2 * ENTRY_CHUNK];
    uint8_t *digests[2 * ENTRY_CHUNK];
    char stack_buf[ENTRY_JSON_FIXED + 4 * 128 + 64];
    Py_ssize_t i, j, n, m, nb;

    if (!PyArg_ParseTuple(args, "O!O!:entry_jsons", &PyList_Type, &entries, &PyTuple_Type, &kind_names))
        return NULL;
    for (i = 0; i < PyTuple_GET_SIZE(kind_names); i++)
        if (!PyUnicode_Check(PyTuple_GET_ITEM(kind_names, i))) {
            PyErr_SetString(PyExc_TypeError, "kind_names must be a tuple of str");
            return NULL;
        }
    /* From here on no Python code runs (see entry_type_ok) until the end: the list and its
     * entries stay as they are, and the references borrowed from them valid. */
    n = PyList_GET_SIZE(entries);
    if ((out = PyList_New(n)) == NULL)
        return NULL;
    for (i = 0; i < n; i += ENTRY_CHUNK) {
        m = n - i < ENTRY_CHUNK ? n - i : ENTRY_CHUNK;
        nb = 0;
        for (j = 0; j < m; j++) {
            entry_fields *f = &fields[j];
            prefetch_entry(entries, i + j + PREFETCH_AHEAD, n);
            if (parse_entry(PyList_GET_ITEM(entries, i + j), kind_names, f, &seen) < 0)
                goto error;
            if (!f->ok)
                continue;
            bodies[nb] = f->account;
            digests[nb++] = f->account_digest;
            if (f->kind == KIND_FEES_WITHDRAWN) {
                bodies[nb] = f->token;
                digests[nb++] = f->token_digest;
            }
        }
        keccak40_many(bodies, digests, nb);
        for (j = 0; j < m; j++) {
            const entry_fields *f = &fields[j];
            PyObject *text;
            if (!f->ok) {
                Py_INCREF(Py_None);
                text = Py_None;
            }
            else {
                Py_ssize_t size = entry_json_size(f), len;
                char *buf = size <= (Py_ssize_t)sizeof stack_buf ? stack_buf : PyMem_Malloc((size_t)size);
                if (buf == NULL) {
                    PyErr_NoMemory();
                    goto error;
                }
                len = format_entry(f, buf);
                if (len < 0) { /* a '"' or '\\' to escape: left to Python */
                    Py_INCREF(Py_None);
                    text = Py_None;
                }
                else if ((text = PyUnicode_New(len, 127)) != NULL)
                    memcpy(PyUnicode_1BYTE_DATA(text), buf, (size_t)len);
                if (buf != stack_buf)
                    PyMem_Free(buf);
                if (text == NULL)
                    goto error;
            }
            PyList_SET_ITEM(out, i + j, text);
        }
    }
    Py_XDECREF(seen.replaced);
    return out;
error:
    Py_XDECREF(out); /* its slots not filled yet are NULL */
    Py_XDECREF(seen.replaced);
    return NULL;
}

/* ------------------------------------------------------------------------ SQLite batch rows */

/* The indexer's rows for SQLite (ledger/db/store.py): a uint256 column holds the value's decimal
 * digits zero-padded to 78 characters (ledger/db/types.py). Anything but a plain int in 0..2**256-1
 * where a uint256 goes makes the call return None, and the Python reference builds the rows (and
 * raises its own error). */

#define U256_DIGITS 78
static PyObject *MAX_U256;

/* A new reference to the 78-digit text of `v`; NULL and no error set to decline. */
static PyObject *
u256_text(PyObject *v)
{
    PyObject *text, *digits;
    Py_ssize_t n;
    int overflow;
    long long x;
    if (!PyLong_CheckExact(v))
        return NULL;
    x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred())
        return NULL;
    if (!overflow) {
        unsigned long long u = (unsigned long long)x;
        Py_UCS1 *out;
        int i = U256_DIGITS;
        if (x < 0 || (text = PyUnicode_New(U256_DIGITS, 127)) == NULL)
            return NULL;
        out = PyUnicode_1BYTE_DATA(text);
        memset(out, '0', U256_DIGITS);
        for (; u; u /= 10)
            out[--i] = (Py_UCS1)('0' + u % 10);
        return text;
    }
    if (overflow < 0 || PyObject_RichCompareBool(v, MAX_U256, Py_LE) != 1)
        return NULL; /* negative, above 2**256-1, or an error (left set) */
    if ((digits = PyObject_Str(v)) == NULL)
        return NULL;
    n = PyUnicode_GET_LENGTH(digits);
    if ((text = PyUnicode_New(U256_DIGITS, 127)) != NULL) {
        memset(PyUnicode_1BYTE_DATA(text), '0', (size_t)(U256_DIGITS - n));
        memcpy(PyUnicode_1BYTE_DATA(text) + U256_DIGITS - n, PyUnicode_1BYTE_DATA(digits), (size_t)n);
    }
    Py_DECREF(digits);
    return text;
}

PyDoc_STRVAR(record_rows_doc,
"record_rows(records, names, wide) -> list | None\n\n"
"ledger.db.store._FastSql.rows on SQLite: a tuple of each record's attributes `names` (a tuple of\n"
"str), those where `wide` (a tuple of bools) is true as uint256 text. None to decline.");

static PyObject *
sp_record_rows(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *records, *names, *wide, *iter, *record, *out, *row = NULL, *value;
    Py_ssize_t width, c;
    if (!PyArg_ParseTuple(args, "OO!O!", &records, &PyTuple_Type, &names, &PyTuple_Type, &wide))
        return NULL;
    if ((width = PyTuple_GET_SIZE(names)) != PyTuple_GET_SIZE(wide))
        Py_RETURN_NONE;
    if ((out = PyList_New(0)) == NULL)
        return NULL;
    if ((iter = PyObject_GetIter(records)) == NULL) {
        Py_DECREF(out);
        return NULL;
    }
    while ((record = PyIter_Next(iter)) != NULL) {
        row = PyTuple_New(width);
        for (c = 0; row != NULL && c < width; c++) {
            value = PyObject_GetAttr(record, PyTuple_GET_ITEM(names, c));
            if (value != NULL && PyTuple_GET_ITEM(wide, c) == Py_True) {
                PyObject *text = u256_text(value);
                Py_DECREF(value);
                value = text;
            }
            if (value == NULL)
                Py_CLEAR(row);
            else
                PyTuple_SET_ITEM(row, c, value);
        }
        Py_DECREF(record);
        if (row == NULL || PyList_Append(out, row) < 0)
            break;
        Py_CLEAR(row);
    }
    Py_DECREF(iter);
    if (row != NULL || PyErr_Occurred()) { /* an error */
        Py_XDECREF(row);
        Py_DECREF(out);
        return NULL;
    }
    if (record != NULL) { /* declined */
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return out;
}

PyDoc_STRVAR(entry_rows_doc,
"entry_rows(entries, final_block, texts, entry_type, u256_text) -> list | None\n\n"
"ledger.db.store.entry_rows: the ledger_entries row of each entry (exact `entry_type` tuples),\n"
"final when its block is at most `final_block`, with its public text from `texts`; the amount as\n"
"uint256 text when `u256_text` is true. None to decline.");

/* the ledger_entries columns (ledger/db/schema.py) as LedgerEntry fields (ledger/records.py);
 * -1: kind as a plain int, -2: final, -3: the public text */
#define ENTRY_ROW_WIDTH 14
static const int ENTRY_ROW_FIELD[ENTRY_ROW_WIDTH] = {0, -1, 2, 3, 4, 5, 6, 7, 8, 11, 9, 10, -2, -3};

static PyObject *
sp_entry_rows(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *entries, *final_block, *texts, *entry_type, *out, *row, *value;
    int u256, c;
    Py_ssize_t i, n;
    if (!PyArg_ParseTuple(args, "O!OO!Op", &PyList_Type, &entries, &final_block, &PyList_Type, &texts, &entry_type,
                          &u256))
        return NULL;
    n = PyList_GET_SIZE(entries);
    if (PyList_GET_SIZE(texts) != n)
        Py_RETURN_NONE;
    for (i = 0; i < n; i++) {
        PyObject *e = PyList_GET_ITEM(entries, i);
        if ((PyObject *)Py_TYPE(e) != entry_type || PyTuple_GET_SIZE(e) < 12)
            Py_RETURN_NONE;
    }
    if ((out = PyList_New(n)) == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *e = PyList_GET_ITEM(entries, i);
        if ((row = PyTuple_New(ENTRY_ROW_WIDTH)) == NULL)
            goto error;
        PyList_SET_ITEM(out, i, row);
        for (c = 0; c < ENTRY_ROW_WIDTH; c++) {
            int field = ENTRY_ROW_FIELD[c], le;
            switch (field) {
            case -1:
                value = PyNumber_Index(PyTuple_GET_ITEM(e, 1));
                break;
            case -2:
                if ((le = PyObject_RichCompareBool(PyTuple_GET_ITEM(e, 7), final_block, Py_LE)) < 0)
                    goto error;
                value = Py_NewRef(le ? Py_True : Py_False);
                break;
            case -3:
                value = Py_NewRef(PyList_GET_ITEM(texts, i));
                break;
            default:
                value = PyTuple_GET_ITEM(e, field);
                value = field == 4 && u256 ? u256_text(value) : Py_NewRef(value);
            }
            if (value == NULL) {
                if (PyErr_Occurred())
                    goto error;
                Py_DECREF(out);
                Py_RETURN_NONE;
            }
            PyTuple_SET_ITEM(row, c, value);
        }
    }
    return out;
error:
    Py_DECREF(out); /* its slots not filled yet are NULL */
    return NULL;
}

/* ------------------------------------------------------------------------------ the module */

static PyMethodDef methods[] = {
    {"keccak256", sp_keccak256, METH_O,
     PyDoc_STR("keccak256(data) -> bytes: Keccak-256 (Ethereum's, 0x01 padding) of a bytes-like object")},
    {"replay_ndjson", sp_replay_ndjson, METH_VARARGS, replay_ndjson_doc},
    {"decode_logs", sp_decode_logs, METH_VARARGS, decode_logs_doc},
    {"decode_logs_answer", sp_decode_logs_answer, METH_VARARGS, decode_logs_answer_doc},
    {"verify_chain", sp_verify_chain, METH_VARARGS, verify_chain_doc},
    {"entry_jsons", sp_entry_jsons, METH_VARARGS, entry_jsons_doc},
    {"record_rows", sp_record_rows, METH_VARARGS, record_rows_doc},
    {"entry_rows", sp_entry_rows, METH_VARARGS, entry_rows_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "ledger._speedups", "CrowdLedger's hot loops in C (see ledger/native.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

static int
intern(PyObject **slot, const char *name)
{
    *slot = PyUnicode_InternFromString(name);
    return *slot == NULL ? -1 : 0;
}

PyMODINIT_FUNC
PyInit__speedups(void)
{
    int c;
#ifdef KECCAK_BMI
    __builtin_cpu_init();
    if (__builtin_cpu_supports("bmi"))
        keccak_f1600 = keccak_f1600_bmi;
#endif
#ifdef KECCAK_LANES
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
        keccak40_lanes = keccak40_x4_avx512vl;
    else if (__builtin_cpu_supports("avx2"))
        keccak40_lanes = keccak40_x4_avx2;
#endif
    for (c = 0; c < 256; c++) {
        HEX_ANY[c] = HEX_LOWER[c] = -1;
        NIBBLE_CASE[c][0] = c & 0x80 ? 0x20 : 0;
        NIBBLE_CASE[c][1] = c & 0x08 ? 0x20 : 0;
    }
    for (c = 0x20; c < 0x80; c++)
        JSON_PLAIN[c] = c != '"' && c != '\\';
    for (c = 0; c < 10; c++)
        HEX_ANY['0' + c] = HEX_LOWER['0' + c] = (int8_t)c;
    for (c = 0; c < 6; c++) {
        HEX_ANY['a' + c] = HEX_LOWER['a' + c] = (int8_t)(10 + c);
        HEX_ANY['A' + c] = (int8_t)(10 + c);
    }
    if (ZERO == NULL) {
        if ((ZERO = PyLong_FromLong(0)) == NULL || (ONE = PyLong_FromLong(1)) == NULL)
            return NULL;
        if (intern(&S_BALANCE, "balance") < 0 || intern(&S_PLEDGED_TOTAL, "pledged_total") < 0
            || intern(&S_UNPLEDGED_TOTAL, "unpledged_total") < 0 || intern(&S_FIRST_SEQ, "first_seq") < 0
            || intern(&S_LAST_SEQ, "last_seq") < 0 || intern(&S_PLEDGED, "pledged") < 0
            || intern(&S_BACKER_COUNT, "backer_count") < 0 || intern(&S_TOPICS, "topics") < 0
            || intern(&S_DATA, "data") < 0 || intern(&S_BLOCK_NUMBER, "blockNumber") < 0
            || intern(&S_BLOCK_HASH, "blockHash") < 0 || intern(&S_TX_HASH, "transactionHash") < 0
            || intern(&S_LOG_INDEX, "logIndex") < 0 || intern(&S_BLOCK_TIMESTAMP, "blockTimestamp") < 0)
            return NULL;
    }
    if (MAX_U256 == NULL && (MAX_U256 = PyLong_FromString(
            "115792089237316195423570985008687907853269984665640564039457584007913129639935", NULL, 10)) == NULL)
        return NULL;
    if (S_REDUCE == NULL) {
        for (c = 0; c < ENTRY_FIELDS; c++)
            if (intern(&S_ENTRY_FIELD[c], ENTRY_FIELD_NAMES[c]) < 0)
                return NULL;
        if (intern(&S_REDUCE, "__reduce__") < 0)
            return NULL;
    }
    if (TUPLEGETTER == NULL) { /* without it entry_jsons declines every entry */
        PyObject *collections = PyImport_ImportModule("_collections"), *t = NULL;
        if (collections != NULL) {
            t = PyObject_GetAttrString(collections, "_tuplegetter");
            Py_DECREF(collections);
        }
        if (t != NULL && PyType_Check(t))
            TUPLEGETTER = (PyTypeObject *)t; /* kept */
        else
            Py_XDECREF(t);
        PyErr_Clear();
    }
    return PyModule_Create(&module_def);
}
