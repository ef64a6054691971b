package dev.scalebox.network;

import dev.scalebox.api.ApiServer;
import dev.scalebox.api.ApiToken;
import dev.scalebox.host.ProgramResult;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.testing.Ports;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestVms;
import dev.scalebox.testing.Waits;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What a guest on the bridge reaches, tried from inside real guests with bash's {@code /dev/tcp}:
 * the internet (the Debian mirror this machine reaches, and a "public" address served by a
 * network namespace of the test's own), and none of the host's world: its listeners on loopback,
 * on the bridge and on its other interfaces (an interface in 192.168.0.0/16 among them), nor
 * the other VM. Then, on the same two guests: QEMU's confinement; a VM's HTTPS address through a
 * real Caddy to a web server in the guest, served with a certificate of Caddy's internal CA, woken
 * from suspended by a request, and gone (404) once the VM is deleted; and last a restart of
 * Scalebox, which keeps the network of the VM left.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NetworkIsolationTest {

    /** How long a request to a suspended VM retries while the VM waits its turn to resume. */
    private static final Duration WAKE_RETRIES = Duration.ofMinutes(15);

    private static final String MIRROR = "203.0.113.80";
    /** TEST-NET-2: public as far as the rules go; the namespace below answers for it. */
    private static final String PUBLIC = "198.51.100.7";
    private static final String DUMMY = "192.168.231.1";
    private static final String DUMMY_LINK = "sbtlan0";
    private static final String OUTSIDE = "sbtoutside";
    private static final String DOMAIN = "vms.scalebox.test";

    private static TestVms env;
    private static VmService vms;
    private static Vm a;
    private static Vm b;
    private static final List<ServerSocket> listeners = new ArrayList<>();
    private static int wildcardPort;
    private static int loopbackPort;
    private static int httpsPort;
    private static ApiServer api;

    @BeforeAll
    static void start() throws IOException {
        int apiPort = Ports.free();
        httpsPort = Ports.free();
        env = new TestVms("network", 30001, layout -> new HttpsConfig(DOMAIN, "127.0.0.1", httpsPort, null,
                layout.root().resolve("caddy"), "127.0.0.1:" + apiPort));
        vms = env.service();
        api = ApiServer.start("127.0.0.1", apiPort, ApiToken.resolve(Optional.of("network-test-token-0123456789"),
                Path.of("/nonexistent")), new ApiServer.Services(env.templates, vms, env.storage, "tcg", null, null));
        a = vms.create(new CreateVm("debian-base", env.publicKey, "net-a", 1, 384, null, null));
        b = vms.create(new CreateVm("debian-base", env.publicKey, "net-b", 1, 384, null, null));

        cleanHost();
        // This kernel has no dummy interfaces: one end of a veth pair stands in for the LAN's interface.
        Sh.run("ip", "link", "add", DUMMY_LINK, "type", "veth", "peer", "name", DUMMY_LINK + "p");
        Sh.run("ip", "addr", "add", DUMMY + "/24", "dev", DUMMY_LINK);
        Sh.run("ip", "link", "set", DUMMY_LINK, "up");
        Sh.run("ip", "netns", "add", OUTSIDE);
        Sh.run("ip", "link", "add", OUTSIDE, "type", "veth", "peer", "name", "eth0", "netns", OUTSIDE);
        Sh.run("ip", "addr", "add", "198.51.100.1/24", "dev", OUTSIDE);
        Sh.run("ip", "link", "set", OUTSIDE, "up");
        Sh.run("ip", "-n", OUTSIDE, "addr", "add", PUBLIC + "/24", "dev", "eth0");
        Sh.run("ip", "-n", OUTSIDE, "link", "set", "eth0", "up");
        Sh.run("ip", "-n", OUTSIDE, "link", "set", "lo", "up");
        Sh.run("ip", "-n", OUTSIDE, "route", "add", "default", "via", "198.51.100.1");
        Sh.run("ip", "netns", "exec", OUTSIDE, "sh", "-c",
                "setsid timeout 3600 /usr/bin/python3 -m http.server 80 --bind " + PUBLIC + " >/dev/null 2>&1 < /dev/null &");

        ServerSocket wildcard = listen("0.0.0.0", 0);
        wildcardPort = wildcard.getLocalPort();
        ServerSocket loopback = listen("127.0.0.1", 0);
        loopbackPort = loopback.getLocalPort();
        listen(DUMMY, 18080);
        a = Waits.status(vms, a.id(), VmStatus.RUNNING, Waits.START);
        b = Waits.status(vms, b.id(), VmStatus.RUNNING, Waits.START);
    }

    @AfterAll
    static void stop() throws IOException {
        for (ServerSocket s : listeners) {
            s.close();
        }
        cleanHost();
        if (api != null) {
            api.close();
        }
        if (env != null) {
            env.close();
        }
    }

    private static void cleanHost() {
        Sh.tryRun("ip", "link", "del", DUMMY_LINK);
        Sh.tryRun("sh", "-c", "ip netns pids " + OUTSIDE + " | xargs -r kill");
        Sh.tryRun("ip", "netns", "del", OUTSIDE);
        Sh.tryRun("ip", "link", "del", OUTSIDE);
    }

    /** A listener that accepts and holds connections, as a service of the host would. */
    private static ServerSocket listen(String address, int port) throws IOException {
        ServerSocket socket = new ServerSocket(port, 50, InetAddress.getByName(address));
        listeners.add(socket);
        Thread.ofVirtual().start(() -> {
            while (!socket.isClosed()) {
                try (Socket ignored = socket.accept()) {
                    // accepted: the connection was made
                } catch (IOException e) {
                    return;
                }
            }
        });
        return socket;
    }

    /** Which of {@code targets} ("host:port") the guest can open a TCP connection to, each tried for 4 s. */
    private static Map<String, Boolean> reach(Vm from, List<String> targets) {
        StringBuilder script = new StringBuilder();
        for (String t : targets) {
            String[] hp = t.split(":");
            script.append("if timeout 4 bash -c 'exec 3<>/dev/tcp/").append(hp[0]).append('/').append(hp[1])
                    .append("' 2>/dev/null; then echo '").append(t).append(" open'; else echo '").append(t).append(" closed'; fi\n");
        }
        Map<String, Boolean> result = new LinkedHashMap<>();
        for (String line : env.ssh(from, script.toString()).strip().split("\n")) {
            String[] parts = line.split(" ");
            result.put(parts[0], parts[1].equals("open"));
        }
        return result;
    }

    private static String hostAddress() {
        return Sh.run("ip", "-4", "-o", "route", "get", "1.1.1.1").replaceAll(".* src (\\S+).*", "$1").strip();
    }

    @Test
    @Order(1)
    void eachVmHasItsOwnAddressAndMacOnTheBridge() {
        assertThat(a.ip()).isNotNull().isNotEqualTo(b.ip());
        assertThat(a.mac()).isNotEqualTo(b.mac());
        assertThat(env.ssh(a, "cat /sys/class/net/eth0/address").strip()).isEqualTo(a.mac());
        assertThat(env.ssh(a, "ip -4 -o addr show dev eth0")).contains(" " + a.ip() + "/");
    }

    @Test
    @Order(2)
    void aGuestReachesTheInternetAndNothingOfTheHost() {
        String gateway = env.network.config().gateway();
        Map<String, Boolean> reached = reach(a, List.of(
                MIRROR + ":80", PUBLIC + ":80",
                gateway + ":" + wildcardPort, hostAddress() + ":" + wildcardPort, "127.0.0.1:" + loopbackPort,
                DUMMY + ":18080", gateway + ":" + b.sshPort(), b.ip() + ":22"));
        assertThat(reached).containsEntry(MIRROR + ":80", true).containsEntry(PUBLIC + ":80", true);
        assertThat(reached).as("everything but the two public addresses is closed")
                .allSatisfy((target, open) -> assertThat(open).as(target).isEqualTo(target.startsWith(MIRROR)
                        || target.startsWith(PUBLIC)));
        assertThat(env.ssh(a, "getent hosts deb.debian.org")).as("DNS through the bridge's dnsmasq").contains("deb.debian.org");
    }

    @Test
    @Order(3)
    void egressNoneAndAnAllowListHoldAtOnceWithoutARestart() {
        long qemu = vms.processId(a.id()).orElseThrow();
        vms.setEgress(a.id(), Egress.named("none"));
        assertThat(reach(a, List.of(MIRROR + ":80", PUBLIC + ":80")).values()).containsOnly(false);

        vms.setEgress(a.id(), Egress.allow(List.of(MIRROR)));
        assertThat(reach(a, List.of(MIRROR + ":80", PUBLIC + ":80")))
                .containsEntry(MIRROR + ":80", true).containsEntry(PUBLIC + ":80", false);
        assertThat(vms.get(a.id()).egress().json()).isEqualTo(List.of(MIRROR));
        assertThat(vms.processId(a.id()).orElseThrow()).as("no restart").isEqualTo(qemu);
    }

    @Test
    @Order(4)
    void aForgedSourceAddressGoesNowhere() {
        // Root in the guest takes VM b's address as well: what it sends from that address is dropped at its port.
        vms.setEgress(a.id(), Egress.INTERNET);
        env.ssh(a, "ip addr add " + b.ip() + "/32 dev eth0");
        try {
            String connect = "perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(PeerAddr => \"" + PUBLIC
                    + ":80\", LocalAddr => shift, Timeout => 4) ? \"open\\n\" : \"closed\\n\"' ";
            assertThat(env.ssh(a, connect + a.ip()).strip()).isEqualTo("open");
            assertThat(env.ssh(a, connect + b.ip()).strip()).isEqualTo("closed");
        } finally {
            env.ssh(a, "ip addr del " + b.ip() + "/32 dev eth0");
        }
    }

    @Test
    @Order(9)
    void aRestartOfScaleboxKeepsTheRunningVmsNetworkAndRulesWithoutDuplicates() throws IOException {
        String bridge = env.network.config().bridge();
        String before = Sh.run("nft", "list", "table", "inet", bridge);
        Path caddyPid = env.network.config().runDir().resolve("caddy/caddy.pid");
        String caddyBefore = Files.readString(caddyPid);
        VmService restarted = env.service();
        restarted.recover();
        assertThat(Files.readString(caddyPid)).as("Caddy is adopted, not started again").isEqualTo(caddyBefore);
        assertThat(Sh.run("nft", "list", "table", "inet", bridge)).isEqualTo(before);
        assertThat(Sh.run("nft", "list", "tables")).containsOnlyOnce("inet " + bridge + "\n");
        assertThat(Files.exists(Path.of("/sys/class/net", Guest.tapOf(a.id())))).as("the TAP device stays").isTrue();
        assertThat(env.ssh(a, "echo still")).contains("still");
        assertThat(reach(a, List.of(MIRROR + ":80"))).containsEntry(MIRROR + ":80", true);
    }

    @Test
    @Order(5)
    void eachQemuRunsConfinedAsAUserOfItsOwnThatCannotWriteTheOtherVmsDisk() throws IOException {
        Map<String, String> qemuA = processStatus(vms.processId(a.id()).orElseThrow());
        Map<String, String> qemuB = processStatus(vms.processId(b.id()).orElseThrow());
        String uidA = qemuA.get("Uid").split("\\s+")[0];
        assertThat(uidA).isNotEqualTo("0").isNotEqualTo(qemuB.get("Uid").split("\\s+")[0]);
        assertThat(qemuA).containsEntry("Seccomp", "2").containsEntry("NoNewPrivs", "1")
                .containsEntry("CapEff", "0000000000000000").containsEntry("CapBnd", "0000000000000000");
        assertThat(Files.readString(Path.of("/sys/class/net", Guest.tapOf(a.id()), "owner")).strip())
                .as("only QEMU a may attach to a's TAP device").isEqualTo(uidA);

        // A process with QEMU a's credentials opens each disk for writing, writing nothing.
        List<String> asQemuA = List.of("setpriv", "--reuid=" + uidA, "--regid=" + uidA, "--clear-groups", "--",
                "sh", "-c", ": >> \"$1\"", "sh");
        assertThat(asQemu(asQemuA, env.layout.vmImage(a.id())).succeeded()).as("its own disk").isTrue();
        assertThat(asQemu(asQemuA, env.layout.vmImage(b.id())).stderr()).contains("Permission denied");
        assertThat(asQemu(asQemuA, env.layout.runDir(b.id()).resolve("serial.log")).stderr()).contains("Permission denied");
    }

    private static ProgramResult asQemu(List<String> argv, Path file) {
        List<String> all = new ArrayList<>(argv);
        all.add(file.toString());
        return Sh.tryRun(all.toArray(String[]::new));
    }

    private static Map<String, String> processStatus(long pid) throws IOException {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            String[] kv = line.split(":\\s*", 2);
            fields.put(kv[0], kv.length > 1 ? kv[1].strip() : "");
        }
        return fields;
    }

    @Test
    @Order(6)
    void aVmIsServedAtItsNameUnderTheDomainWithACertificateOfTheInternalCa() {
        env.serveHttp(b);
        assertThat(b.url()).isEqualTo("https://net-b." + DOMAIN + ":" + httpsPort + "/");
        assertThat(vms.get("net-b").httpPort()).isEqualTo(80);
        ProgramResult page = curl("net-b");
        assertThat(page.stdout()).as(page.stderr()).isEqualTo("hello from web\n200");
    }

    @Test
    @Order(7)
    void aRequestWakesASuspendedVmAndIsServedOnceItRuns() {
        vms.suspend("net-b");
        assertThat(vms.get("net-b").status()).isEqualTo(VmStatus.SUSPENDED);

        assertThatThrownBy(() -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(b.ip(), 80), 20_000);
            }
        })
                .as("a connection to a VM that does not run is reset, not left to fail on ARP")
                .isInstanceOf(ConnectException.class).hasMessageContaining("Connection refused");
        ProgramResult first = curl("net-b");
        assertThat(first.stdout()).as("the first answer, while the VM wakes").endsWith("503");
        assertThat(first.stdout()).contains("waking up");
        // The resume waits its turn in the host's line of starts, which other test classes fill.
        ProgramResult page = curl("net-b", "--retry", "10000", "--retry-max-time", Long.toString(WAKE_RETRIES.toSeconds()));
        assertThat(page.stdout()).as(page.stderr()).endsWith("hello from web\n200");
        assertThat(curl("net-b").stdout()).isEqualTo("hello from web\n200");
        Waits.status(vms, "net-b", VmStatus.RUNNING, Waits.STEP);
    }

    @Test
    @Order(8)
    void aDeletedVmLosesItsRouteAndItsAddressAnswers404() {
        vms.delete("net-b");
        ProgramResult gone = curl("net-b");
        assertThat(gone.stdout()).as(gone.stderr()).isEqualTo("No VM is published at this address.\n404");
        assertThat(curl("never-was").stdout()).endsWith("404");
    }

    /** {@code curl} to NAME's address on loopback, trusting only the internal CA's root; body then status. */
    private static ProgramResult curl(String name, String... options) {
        String host = name + "." + DOMAIN;
        List<String> argv = new ArrayList<>(List.of("curl", "-sS", "--resolve", host + ":" + httpsPort + ":127.0.0.1",
                "--cacert", env.network.https().orElseThrow().rootCertificate().toString(), "-w", "%{http_code}", "-m", "120"));
        argv.addAll(List.of(options));
        argv.add("https://" + host + ":" + httpsPort + "/");
        // Killed only past curl's own bounds: its retries, and one more try of at most 120 s.
        return new ProgramRunner().run(argv, WAKE_RETRIES.plusMinutes(3));
    }

}
