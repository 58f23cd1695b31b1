// Generates test/fixtures/dh/*.json the JDK's way (DH-EXERCISE.md): key pairs from the
// JDK's default DH groups, public keys as PublicKey.getEncoded() (X.509 SPKI), private
// keys as PrivateKey.getEncoded() (PKCS#8), the secret as KeyAgreement.generateSecret()
// and the confirmation as HmacSHA1(secret, "<initiator>|<responder>").
//
// Regenerate (from the repository root, JDK 17+):
//   java tools/dh-fixtures/GenFixtures.java test/fixtures/dh
// (single-file source launch: no class files are written.)

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.KeyAgreement;
import javax.crypto.Mac;
import javax.crypto.interfaces.DHPublicKey;
import javax.crypto.spec.SecretKeySpec;

public final class GenFixtures {
  private static final String INITIATOR = "410001";
  private static final String RESPONDER = "410002";

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "test/fixtures/dh");
    Files.createDirectories(out);
    for (int bits : new int[] {1024, 2048, 3072}) {
      write(out.resolve("jdk-" + bits + ".json"), generate(bits, false));
    }
    // About one secret in 256 starts with 0x00: loop until we get one.
    for (int bits : new int[] {1024, 2048}) {
      write(out.resolve("jdk-" + bits + "-leading-zero.json"), generate(bits, true));
    }
  }

  private static String generate(int bits, boolean wantLeadingZero) throws Exception {
    for (int attempt = 1; ; attempt++) {
      KeyPairGenerator initGen = KeyPairGenerator.getInstance("DH");
      initGen.initialize(bits);
      KeyPair initiator = initGen.generateKeyPair();
      // The responder generates its key with the initiator's parameters, as in dh2.
      KeyPairGenerator respGen = KeyPairGenerator.getInstance("DH");
      respGen.initialize(((DHPublicKey) initiator.getPublic()).getParams());
      KeyPair responder = respGen.generateKeyPair();

      byte[] secret = agree(initiator, responder.getPublic());
      byte[] other = agree(responder, initiator.getPublic());
      if (!java.util.Arrays.equals(secret, other)) throw new IllegalStateException("secrets differ");
      if (wantLeadingZero && secret[0] != 0) continue;

      DHPublicKey pub = (DHPublicKey) initiator.getPublic();
      String connectionId = INITIATOR + "|" + RESPONDER;
      StringBuilder json = new StringBuilder();
      json.append("{\n");
      field(json, "generator", str("tools/dh-fixtures/GenFixtures.java"));
      field(json, "java", str(System.getProperty("java.version")));
      field(json, "bits", Integer.toString(bits));
      field(json, "attempts", Integer.toString(attempt));
      field(json, "p", str(pub.getParams().getP().toString(16)));
      field(json, "g", str(pub.getParams().getG().toString(16)));
      field(json, "l", Integer.toString(pub.getParams().getL()));
      field(json, "connectionId", str(connectionId));
      field(json, "initiator", party(INITIATOR, initiator));
      field(json, "responder", party(RESPONDER, responder));
      field(json, "secret", str(HexFormat.of().formatHex(secret)));
      field(json, "leadingZero", Boolean.toString(secret[0] == 0));
      field(json, "dhverif", str(hmac(secret, connectionId)));
      json.setLength(json.length() - 2);
      json.append("\n}\n");
      return json.toString();
    }
  }

  private static byte[] agree(KeyPair own, PublicKey theirs) throws Exception {
    KeyAgreement ka = KeyAgreement.getInstance("DH");
    ka.init(own.getPrivate());
    ka.doPhase(theirs, true);
    return ka.generateSecret();
  }

  private static String hmac(byte[] key, String data) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA1");
    mac.init(new SecretKeySpec(key, "HmacSHA1"));
    return Base64.getEncoder().encodeToString(mac.doFinal(data.getBytes(StandardCharsets.UTF_8)));
  }

  private static String party(String uco, KeyPair kp) {
    Base64.Encoder b64 = Base64.getEncoder();
    BigInteger y = ((DHPublicKey) kp.getPublic()).getY();
    return "{ \"uco\": " + str(uco)
        + ", \"public\": " + str(b64.encodeToString(kp.getPublic().getEncoded()))
        + ", \"private\": " + str(b64.encodeToString(kp.getPrivate().getEncoded()))
        + ", \"y\": " + str(y.toString(16)) + " }";
  }

  private static void field(StringBuilder json, String name, String value) {
    json.append("  ").append(str(name)).append(": ").append(value).append(",\n");
  }

  private static String str(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static void write(Path file, String content) throws IOException {
    Files.writeString(file, content, StandardCharsets.UTF_8);
    System.out.println("wrote " + file);
  }
}
