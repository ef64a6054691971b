package dev.scalebox.storage.plan;

import org.bouncycastle.crypto.digests.MD4Digest;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * The NT hash Samba keeps of a password (MD4 of its UTF-16LE bytes), so a plan can tell whether a
 * user's password already matches its secret without setting it again.
 */
final class NtHash {

    private NtHash() {
    }

    static String of(Secret password) {
        byte[] text = password.value().getBytes(StandardCharsets.UTF_16LE);
        MD4Digest md4 = new MD4Digest();
        md4.update(text, 0, text.length);
        byte[] hash = new byte[md4.getDigestSize()];
        md4.doFinal(hash, 0);
        return HexFormat.of().formatHex(hash);
    }
}
