package dev.scalebox.gateway;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.FaultPoint;
import dev.scalebox.template.TemplateCatalog;
import dev.scalebox.vm.Admission;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;
import org.apache.sshd.client.channel.ClientChannel;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The golden state: the box template booted once, left to finish its boot, and suspended, memory
 * and disk, as VM {@code golden-TEMPLATE-HOST}. New boxes are copies of it (reflinks of its disk and
 * saved memory) that resume in about a second instead of booting. It is made on first need, and
 * again when the template was rebuilt since, when the box sizes changed, or when it is not
 * suspended any more (started by hand, or cut short by a crash).
 */
final class Golden {

    private static final Logger log = LoggerFactory.getLogger(Golden.class);

    private final VmService vms;
    private final TemplateCatalog templates;
    private final BoxSpec spec;
    private final String internalKey;
    private final BoxGuest guest;

    Golden(VmService vms, TemplateCatalog templates, BoxSpec spec, String internalKey, BoxGuest guest) {
        this.vms = vms;
        this.templates = templates;
        this.spec = spec;
        this.internalKey = internalKey;
        this.guest = guest;
    }

    /** {@code golden-TEMPLATE-HOST}: each host of a store makes its own, and names are one across the hosts. */
    String name() {
        String name = "golden-" + spec.template() + "-" + vms.hostName();
        return name.length() <= 63 ? name : "golden-" + HexFormat.of().formatHex(sha256(spec.template() + "/" + vms.hostName()), 0, 8);
    }

    /** The golden VM as it is now, current or not; one named as before hosts ({@code golden-TEMPLATE}) takes today's name. */
    Optional<Vm> find() {
        Optional<Vm> golden = vms.find(name());
        if (golden.isPresent()) {
            return golden;
        }
        return vms.find("golden-" + spec.template()).filter(vms::isHere).map(v -> vms.rename(v.id(), name()));
    }

    private static byte[] sha256(String text) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The current golden VM, made (once, whoever asks meanwhile) when there is none; its boot
     * waits its turn at {@code priority}, and {@code progress} hears of the wait.
     */
    synchronized Vm ensure(Admission.Priority priority, Consumer<String> progress) {
        Optional<Vm> existing = find();
        if (existing.isPresent() && isCurrent(existing.get())) {
            return existing.get();
        }
        existing.ifPresent(v -> {
            log.info("The golden state {} is out of date ({}); making it again", v.name(), v.status().label());
            vms.delete(v.id());
        });
        return make(priority, progress);
    }

    boolean isCurrent(Vm vm) {
        return vm.status() == VmStatus.SUSPENDED && vm.vcpuCount() == spec.vcpus() && vm.memSizeMib() == spec.memMib()
                && !predates(vm);
    }

    /** Whether {@code vm} was made before the box template was (re)built, or has no template any more. */
    boolean predates(Vm vm) {
        return templates.builtAt(spec.template()).map(built -> !built.isBefore(vm.createdAt())).orElse(true);
    }

    private Vm make(Admission.Priority priority, Consumer<String> progress) {
        FaultPoint.reach("golden.making");
        long started = System.nanoTime();
        Vm vm = vms.create(new CreateVm(spec.template(), internalKey, name(), spec.vcpus(), spec.memMib(), null, null), true,
                priority);
        try {
            settle(BoxGuest.awaitRunning(vms, vm.id(), progress));
            FaultPoint.reach("golden.settled");
            Vm golden = vms.suspend(vm.id());
            vms.prepareCopies(golden.id());
            log.info("Made the golden state of box template {} in {} s", spec.template(),
                    String.format("%.1f", (System.nanoTime() - started) / 1e9));
            return golden;
        } catch (IOException | RuntimeException e) {
            vms.delete(vm.id());
            throw new ScaleboxException.HostFailure("the golden state of box template " + spec.template()
                    + " could not be made: " + e.getMessage(), e);
        }
    }

    /**
     * Lets the boot finish (the SSH banner comes early), so that copies do not carry on booting:
     * through the guest agent, or over SSH for a box template without one.
     */
    private void settle(Vm vm) throws IOException {
        if (vms.hasGuestAgent(spec.template())) {
            vms.settle(vm.id());
            return;
        }
        try (ClientSession session = guest.connect(vm);
             ClientChannel channel = session.createExecChannel("systemctl is-system-running --wait; sync")) {
            channel.open().verify(BoxGuest.TIMEOUT);
            channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), BoxGuest.TIMEOUT.toMillis() * 4);
        }
    }
}
