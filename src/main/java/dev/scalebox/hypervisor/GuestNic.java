package dev.scalebox.hypervisor;

import dev.scalebox.ScaleboxException;
import tools.jackson.databind.JsonNode;

import java.time.Duration;
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
 * on which the guest asks DHCP for its own address.
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

    /** The TAP backend of {@code spec}'s NIC, for {@code netdev_add}. */
    static Map<String, Object> tapBackend(VmSpec spec) {
        return Map.of("type", "tap", "id", NETDEV, "ifname", spec.tap(), "script", "no", "downscript", "no");
    }

    static Map<String, Object> device(VmSpec spec) {
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
            throw new ScaleboxException.HostFailure("the guest of " + spec.vmId() + " did not let go of the network card"
                    + " of the state it was resumed from within " + UNPLUG_TIMEOUT.toSeconds() + " s");
        } catch (ExecutionException e) {
            throw new ScaleboxException.HostFailure("unplugging the network card of " + spec.vmId() + " failed: "
                    + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScaleboxException.HostFailure("interrupted while replacing the network card of " + spec.vmId());
        } finally {
            qmp.removeListener(listener);
        }
        qmp.execute("device_add", device(spec), QMP_TIMEOUT);
    }
}
