// A tiny chat-roulette client that runs the DH exercise (DH-EXERCISE.md) the way the
// students' Java clients do, with the JDK's DH provider. Used by test/unit/dh-java.test.ts
// as an end-to-end check of the reference peer against the real JDK.
//
//   javac -d OUT tools/dh-fixtures/JavaDhClient.java
//   java -cp OUT JavaDhClient --uco U (--stdio | --host H --port P) [--rounds N] [--bits B]
//
// --stdio speaks the protocol on stdin/stdout instead of a socket. It exits 0 after
// N successful rounds (default 1), 1 on a failed round. Progress goes to stderr.

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.KeyAgreement;
import javax.crypto.Mac;
import javax.crypto.interfaces.DHPublicKey;
import javax.crypto.spec.SecretKeySpec;

public final class JavaDhClient {
  private static final Pattern FIELD =
      Pattern.compile("\"(\\w+)\"\\s*:\\s*(?:\"((?:[^\"\\\\]|\\\\.)*)\"|([^,}\\s]+))");

  private final String uco;
  private final int bits;
  private final PrintStream out;
  private long nonce = 0;
  private String peer;
  private KeyPair keys;
  private byte[] secret;

  private JavaDhClient(String uco, int bits, OutputStream out) {
    this.uco = uco;
    this.bits = bits;
    this.out = new PrintStream(out, true, StandardCharsets.UTF_8);
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> opt = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--stdio")) opt.put("stdio", "1");
      else opt.put(args[i].substring(2), args[++i]);
    }
    int rounds = Integer.parseInt(opt.getOrDefault("rounds", "1"));
    int bits = Integer.parseInt(opt.getOrDefault("bits", "2048"));
    InputStream in;
    OutputStream out;
    if (opt.containsKey("stdio")) {
      in = System.in;
      out = System.out;
    } else {
      Socket socket = new Socket(opt.get("host"), Integer.parseInt(opt.get("port")));
      in = socket.getInputStream();
      out = socket.getOutputStream();
    }
    JavaDhClient client = new JavaDhClient(opt.get("uco"), bits, out);
    client.send("{\"cmd\":\"connect\"", null, null);
    BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    int done = 0;
    for (String line; (line = reader.readLine()) != null; ) {
      int result = client.handle(parse(line));
      if (result < 0) System.exit(1);
      if (result > 0 && ++done >= rounds) {
        client.send("{\"cmd\":\"exit\"", null, null);
        System.exit(0);
      }
    }
    System.err.println("java: connection closed");
    System.exit(1);
  }

  /** Returns 1 when a round succeeded, -1 when it failed, 0 otherwise. */
  private int handle(Map<String, String> m) throws Exception {
    String cmd = m.getOrDefault("cmd", "");
    switch (cmd) {
      case "ping":
        send("{\"cmd\":\"pong\"", null, null);
        return 0;
      case "pair":
        peer = m.get("uco");
        keys = null;
        secret = null;
        System.err.println("java: paired with " + peer + (initiator() ? " (initiator)" : " (responder)"));
        if (initiator()) {
          KeyPairGenerator gen = KeyPairGenerator.getInstance("DH");
          gen.initialize(bits);
          keys = gen.generateKeyPair();
          send(comm("dh1"), "dhpub", b64(keys.getPublic().getEncoded()));
        }
        return 0;
      case "comm":
        break;
      default:
        return 0;
    }
    String sub = m.getOrDefault("sub", "");
    if (sub.equals("dh1") && !initiator()) {
      PublicKey theirs = decode(m.get("dhpub"));
      KeyPairGenerator gen = KeyPairGenerator.getInstance("DH");
      gen.initialize(((DHPublicKey) theirs).getParams());
      keys = gen.generateKeyPair();
      secret = agree(theirs);
      send(comm("dh2"), "dhpub", b64(keys.getPublic().getEncoded()));
    } else if (sub.equals("dh2") && initiator()) {
      secret = agree(decode(m.get("dhpub")));
      send(comm("dhc"), "dhverif", hmac());
    } else if (sub.equals("dhc")) {
      byte[] expected = Base64.getDecoder().decode(hmac());
      byte[] received = Base64.getDecoder().decode(m.get("dhverif"));
      if (!MessageDigest.isEqual(expected, received)) {
        System.err.println("java: dhverif does not match");
        return -1;
      }
      if (!initiator()) send(comm("dhc"), "dhverif", hmac());
      System.err.println("java: round ok with " + peer + ", secret[0]=" + (secret[0] & 0xff));
      return 1;
    }
    return 0;
  }

  private boolean initiator() {
    return uco.compareTo(peer) < 0;
  }

  private String connectionId() {
    return initiator() ? uco + "|" + peer : peer + "|" + uco;
  }

  private PublicKey decode(String dhpub) throws Exception {
    return KeyFactory.getInstance("DH").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(dhpub)));
  }

  private byte[] agree(PublicKey theirs) throws Exception {
    KeyAgreement ka = KeyAgreement.getInstance("DH");
    ka.init(keys.getPrivate());
    ka.doPhase(theirs, true);
    return ka.generateSecret();
  }

  private String hmac() throws Exception {
    Mac mac = Mac.getInstance("HmacSHA1");
    mac.init(new SecretKeySpec(secret, "HmacSHA1"));
    return b64(mac.doFinal(connectionId().getBytes(StandardCharsets.UTF_8)));
  }

  private static String comm(String sub) {
    return "{\"cmd\":\"comm\",\"sub\":\"" + sub + "\"";
  }

  private void send(String head, String field, String value) {
    StringBuilder line = new StringBuilder(head);
    line.append(",\"uco\":\"").append(uco).append("\",\"session\":\"java\",\"nonce\":").append(++nonce);
    if (field != null) line.append(",\"").append(field).append("\":\"").append(value).append('"');
    out.print(line.append("}\n"));
    out.flush();
  }

  private static String b64(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  /** Flat JSON objects only: string, number and literal values. */
  private static Map<String, String> parse(String line) {
    Map<String, String> fields = new HashMap<>();
    Matcher m = FIELD.matcher(line);
    while (m.find()) fields.put(m.group(1), m.group(2) != null ? m.group(2) : m.group(3));
    return fields;
  }
}
