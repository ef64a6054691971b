package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;

/**
 * One OpenSSH public key, checked before it goes anywhere near an image: a known type, a base64
 * blob whose inner structure matches that type (so a key labelled ed25519 really is one), RSA of
 * 2048 bits or more, no options prefix ({@code command="..."} would run code at login), no second
 * key and no control characters.
 *
 * @param type    the key type, e.g. {@code ssh-ed25519}
 * @param blob    the decoded key blob
 * @param comment the comment after the blob, possibly empty
 */
public record SshPublicKey(String type, byte[] blob, String comment) {

    private static final int MAX_LENGTH = 16 * 1024;
    private static final int MIN_RSA_BITS = 2048;

    /** For each ECDSA type, its curve name and the length of an uncompressed point. */
    private static final Map<String, Curve> CURVES = Map.of(
            "ecdsa-sha2-nistp256", new Curve("nistp256", 65),
            "ecdsa-sha2-nistp384", new Curve("nistp384", 97),
            "ecdsa-sha2-nistp521", new Curve("nistp521", 133),
            "sk-ecdsa-sha2-nistp256@openssh.com", new Curve("nistp256", 65));

    private record Curve(String name, int pointLength) {
    }

    public static SshPublicKey parse(String text) {
        if (text == null || text.isBlank()) {
            throw invalid("an SSH public key is required");
        }
        if (text.length() > MAX_LENGTH) {
            throw invalid("the key is longer than " + MAX_LENGTH + " characters");
        }
        String line = text.strip();
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\n' || c == '\r') {
                throw invalid("give exactly one key, on one line");
            }
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                throw invalid("the key contains control characters");
            }
        }
        String[] parts = line.split("[ \t]+", 3);
        String type = parts[0];
        if (!isKnownType(type)) {
            throw invalid("unsupported key type '" + Names.printable(type) + "' (options before the key are not accepted;"
                    + " use ssh-ed25519, ssh-rsa of 2048 bits or more, ecdsa-sha2-nistp256/384/521 or an sk- key)");
        }
        if (parts.length < 2) {
            throw invalid("the key has no base64 data after its type");
        }
        byte[] blob;
        try {
            blob = Base64.getDecoder().decode(parts[1]);
        } catch (IllegalArgumentException e) {
            throw invalid("the key data is not valid base64");
        }
        String comment = parts.length == 3 ? parts[2] : "";
        for (String word : comment.split("[ \t]+")) {
            if (isKnownType(word)) {
                throw invalid("give exactly one key per request");
            }
        }
        checkBlob(type, blob);
        return new SshPublicKey(type, blob, comment);
    }

    /** The {@code authorized_keys} line: type, base64 blob and comment. */
    public String toLine() {
        String base = type + " " + Base64.getEncoder().encodeToString(blob);
        return comment.isEmpty() ? base : base + " " + comment;
    }

    /** The fingerprint {@code ssh-keygen -l} prints: SHA256 of the blob, unpadded base64. */
    public String fingerprint() {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(blob);
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean isKnownType(String type) {
        return type.equals("ssh-ed25519") || type.equals("ssh-rsa") || type.equals("sk-ssh-ed25519@openssh.com")
                || CURVES.containsKey(type);
    }

    private static void checkBlob(String type, byte[] blob) {
        ByteBuffer in = ByteBuffer.wrap(blob);
        try {
            String inner = new String(readString(in), StandardCharsets.US_ASCII);
            if (!inner.equals(type)) {
                throw invalid("the key says '" + type + "' but its data holds a '" + Names.printable(inner) + "' key");
            }
            switch (type) {
                case "ssh-rsa" -> {
                    BigInteger exponent = new BigInteger(readString(in));
                    BigInteger modulus = new BigInteger(readString(in));
                    if (exponent.signum() <= 0 || modulus.signum() <= 0) {
                        throw invalid("the RSA key is malformed");
                    }
                    if (modulus.bitLength() < MIN_RSA_BITS) {
                        throw invalid("the RSA key has " + modulus.bitLength() + " bits; at least " + MIN_RSA_BITS
                                + " are required");
                    }
                }
                case "ssh-ed25519", "sk-ssh-ed25519@openssh.com" -> {
                    if (readString(in).length != 32) {
                        throw invalid("the ed25519 key is not 32 bytes long");
                    }
                }
                default -> {
                    Curve curve = CURVES.get(type);
                    String curveName = new String(readString(in), StandardCharsets.US_ASCII);
                    byte[] point = readString(in);
                    if (!curveName.equals(curve.name()) || point.length != curve.pointLength() || point[0] != 4) {
                        throw invalid("the ECDSA key does not match its curve " + curve.name());
                    }
                }
            }
            if (type.startsWith("sk-")) {
                String application = new String(readString(in), StandardCharsets.UTF_8);
                if (application.isEmpty()) {
                    throw invalid("the security-key key has no application");
                }
            }
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
            throw invalid("the key data is truncated or malformed");
        }
        if (in.hasRemaining()) {
            throw invalid("the key data has trailing bytes");
        }
    }

    private static byte[] readString(ByteBuffer in) {
        int length = in.getInt();
        if (length < 0 || length > in.remaining()) {
            throw new IllegalArgumentException("bad length");
        }
        byte[] value = new byte[length];
        in.get(value);
        return value;
    }

    private static ScaleboxException.BadRequest invalid(String why) {
        return new ScaleboxException.BadRequest("Invalid SSH public key: " + why);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SshPublicKey k && type.equals(k.type) && Arrays.equals(blob, k.blob)
                && comment.equals(k.comment);
    }

    @Override
    public int hashCode() {
        return 31 * type.hashCode() + Arrays.hashCode(blob);
    }

    @Override
    public String toString() {
        return type + " " + fingerprint();
    }
}
