"""AES (FIPS-197) encryption in pure Python, with CTR mode: the compute part of 670.auth.

SeBS's 670.auth used pyaes, which has no wheel (so it cannot be packaged with pip's
`--only-binary` for Lambda); this module does the same work with the standard library only.
"""


def _xtime(a):
    a <<= 1
    return (a ^ 0x11B) if a & 0x100 else a


def _gmul(a, b):
    product = 0
    while b:
        if b & 1:
            product ^= a
        a = _xtime(a)
        b >>= 1
    return product


def _sbox():
    """The S-box from its definition: the multiplicative inverse in GF(2^8), then the affine map."""
    inverse = [0] * 256
    for a in range(1, 256):
        for b in range(1, 256):
            if _gmul(a, b) == 1:
                inverse[a] = b
                break
    box = []
    for x in inverse:
        y = x
        for shift in range(1, 5):
            y ^= ((x << shift) | (x >> (8 - shift))) & 0xFF
        box.append(y ^ 0x63)
    return box


SBOX = _sbox()
MUL2 = [_gmul(x, 2) for x in range(256)]
MUL3 = [_gmul(x, 3) for x in range(256)]


def expand_key(key):
    """Round keys (16 bytes each) for a 16-, 24- or 32-byte key."""
    nk = len(key) // 4
    if len(key) not in (16, 24, 32):
        raise ValueError("AES keys are 16, 24 or 32 bytes, not %d" % len(key))
    rounds = nk + 6
    words = [list(key[4 * i : 4 * i + 4]) for i in range(nk)]
    rcon = 1
    for i in range(nk, 4 * (rounds + 1)):
        word = list(words[i - 1])
        if i % nk == 0:
            word = [SBOX[b] for b in word[1:] + word[:1]]
            word[0] ^= rcon
            rcon = _xtime(rcon)
        elif nk > 6 and i % nk == 4:
            word = [SBOX[b] for b in word]
        words.append([a ^ b for a, b in zip(words[i - nk], word)])
    return [sum(words[4 * r : 4 * r + 4], []) for r in range(rounds + 1)]


def encrypt_block(round_keys, block):
    """One 16-byte block; the state is column-major, as in FIPS-197."""
    s = [b ^ k for b, k in zip(block, round_keys[0])]
    last = len(round_keys) - 1
    for rnd in range(1, last + 1):
        s = [SBOX[b] for b in s]
        # ShiftRows: row r moves left by r columns.
        s = [s[(4 * (c + r) + r) % 16] for c in range(4) for r in range(4)]
        if rnd != last:
            mixed = []
            for c in range(4):
                a0, a1, a2, a3 = s[4 * c : 4 * c + 4]
                mixed += [
                    MUL2[a0] ^ MUL3[a1] ^ a2 ^ a3,
                    a0 ^ MUL2[a1] ^ MUL3[a2] ^ a3,
                    a0 ^ a1 ^ MUL2[a2] ^ MUL3[a3],
                    MUL3[a0] ^ a1 ^ a2 ^ MUL2[a3],
                ]
            s = mixed
        s = [b ^ k for b, k in zip(s, round_keys[rnd])]
    return bytes(s)


def ctr(key, data, initial_counter=0):
    """CTR mode with a 128-bit big-endian counter (encryption and decryption are the same)."""
    round_keys = expand_key(key)
    out = bytearray()
    counter = initial_counter
    for offset in range(0, len(data), 16):
        stream = encrypt_block(round_keys, counter.to_bytes(16, "big"))
        chunk = data[offset : offset + 16]
        out += bytes(a ^ b for a, b in zip(chunk, stream))
        counter = (counter + 1) % (1 << 128)
    return bytes(out)
