package dev.scalebox.hypervisor;

import dev.scalebox.ScaleboxException;
import tools.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The guest's network card on the bridge. A saved state carries its NIC's MAC, and the guest's
 * kernel holds it too: a VM resumed from another VM's state (a golden state, a clone) would come
 * up as that VM, with its MAC and so its address. Such a VM's card is replaced once the guest
 * runs: unplugged (the guest lets go of it through ACPI) and plugged again with the VM's own MAC,
 * on which the guest asks DHCP for its own address. A template's snapshot is saved with no card
 * at all (unplugged before the save), and a VM resumed from it only has its own plugged in.
 */
final class GuestNic {

    static final String NETDEV = "net0";
    static final String DEVICE = "net0-nic";
    static final String SLOT = "0x3";
    /** The guest takes its part in an unplug; under TCG on a busy host that can take seconds. */
    private static final Duration UNPLUG_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);

    private GuestNic() {
    }

    /**
     * Plugs in {@code spec}'s card: its backend (the TAP device, or the user-mode network with the
     * guest's SSH port forwarded from {@code hostForward}) and the virtio device at its slot.
     */
    static void plug(QmpClient qmp, VmSpec spec, String hostForward) {
        if (spec.bridged()) {
            qmp.execute("netdev_add", Map.of("type", "tap", "id", NETDEV, "ifname", spec.tap(), "script", "no",
                    "downscript", "no"), QMP_TIMEOUT);
            qmp.execute("device_add", device(spec), QMP_TIMEOUT);
        } else {
            qmp.execute("netdev_add", Map.of("type", "user", "id", NETDEV, "hostfwd", List.of(Map.of("str", hostForward))),
                    QMP_TIMEOUT);
            qmp.execute("device_add", Map.of("driver", "virtio-net-pci", "netdev", NETDEV, "id", DEVICE, "addr", SLOT),
                    QMP_TIMEOUT);
        }
    }

    /**
     * Plugs a card on a user-mode network that reaches nothing ({@code restrict}) into the running
     * guest, waits until the guest has configured it (the agent lists an IPv4 address on it), and
     * takes it out again. Under TCG, what a guest runs for a card plugged in (the PCI hot-plug, the
     * driver's probe, udev, the DHCP client) is then translated already when its own card comes.
     */
    static void rehearse(Instance instance, Path runDir, Duration within) {
        QmpClient qmp = instance.qmp();
        qmp.execute("netdev_add", Map.of("type", "user", "id", NETDEV, "restrict", true), QMP_TIMEOUT);
        try {
            qmp.execute("device_add", Map.of("driver", "virtio-net-pci", "netdev", NETDEV, "id", DEVICE, "addr", SLOT),
                    QMP_TIMEOUT);
            awaitAddress(instance.vmId(), runDir, within);
            unplug(instance, instance.vmId());
        } finally {
            qmp.execute("netdev_del", Map.of("id", NETDEV), QMP_TIMEOUT);
        }
    }

    private static void awaitAddress(String vmId, Path runDir, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        try (GuestAgent agent = GuestAgent.connect(vmId, runDir, within)) {
            while (System.nanoTime() < deadline) {
                for (JsonNode nic : agent.execute("guest-network-get-interfaces", Map.of(), within)) {
                    for (JsonNode address : nic.path("ip-addresses")) {
                        if (!nic.path("name").asString("").equals("lo")
                                && address.path("ip-address-type").asString("").equals("ipv4")) {
                            return;
                        }
                    }
                }
                Sleep.millis(100, "");
            }
        }
        throw new ScaleboxException.HostFailure("the guest of " + vmId + " configured no network card within "
                + within.toSeconds() + " s");
    }

    private static Map<String, Object> device(VmSpec spec) {
        return Map.of("driver", "virtio-net-pci", "netdev", NETDEV, "id", DEVICE, "addr", SLOT, "mac", spec.mac());
    }

    /** The MAC the guest's NIC has now: after a state is loaded, the one of the VM that saved it. */
    static String mac(Instance instance) {
        for (JsonNode nic : instance.qmp().execute("query-rx-filter", Map.of("name", DEVICE), QMP_TIMEOUT)) {
            return nic.path("main-mac").asString("");
        }
        return "";
    }

    /** Gives a bridged guest resumed from {@code loadedMac}'s state a card with its own MAC, when it differs. */
    static void makeOwn(Instance instance, VmSpec spec, String loadedMac) {
        if (!spec.bridged() || loadedMac.equalsIgnoreCase(spec.mac())) {
            return;
        }
        unplug(instance, spec.vmId());
        instance.qmp().execute("device_add", device(spec), QMP_TIMEOUT);
    }

    /** Takes the card out of the running guest of {@code vmId}, once the guest has let go of it; its backend stays. */
    static void unplug(Instance instance, String vmId) {
        QmpClient qmp = instance.qmp();
        CompletableFuture<Void> deleted = new CompletableFuture<>();
        Consumer<JsonNode> listener = event -> {
            if ("DEVICE_DELETED".equals(event.path("event").asString(""))
                    && DEVICE.equals(event.path("data").path("device").asString(""))) {
                deleted.complete(null);
            }
        };
        qmp.onEvent(listener);
        try {
            qmp.execute("device_del", Map.of("id", DEVICE), QMP_TIMEOUT);
            deleted.get(UNPLUG_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new ScaleboxException.HostFailure("the guest of " + vmId + " did not let go of its network card within "
                    + UNPLUG_TIMEOUT.toSeconds() + " s");
        } catch (ExecutionException e) {
            throw new ScaleboxException.HostFailure("unplugging the network card of " + vmId + " failed: "
                    + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScaleboxException.HostFailure("interrupted while unplugging the network card of " + vmId);
        } finally {
            qmp.removeListener(listener);
        }
    }
}
