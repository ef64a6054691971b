package dev.scalebox.hypervisor;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** KVM where it works, else TCG (software emulation), chosen by itself unless configured. */
public enum Accelerator {
    KVM, TCG;

    /** {@code auto}, {@code kvm} or {@code tcg}; auto takes KVM only when /dev/kvm opens and the CPU has vmx or svm. */
    public static Accelerator choose(String setting) {
        return switch (setting) {
            case "kvm" -> KVM;
            case "tcg" -> TCG;
            default -> kvmUsable() ? KVM : TCG;
        };
    }

    static boolean kvmUsable() {
        try (RandomAccessFile kvm = new RandomAccessFile("/dev/kvm", "rw")) {
            List<String> flags = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .filter(l -> l.startsWith("flags")).toList();
            return flags.stream().anyMatch(l -> l.contains(" vmx") || l.contains(" svm"));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The QEMU arguments that select this accelerator and a CPU model for it: {@code kvmCpu} under
     * KVM, {@code max} under TCG. Under TCG the translation cache would default to a quarter of
     * guest RAM or more; {@code tcgCacheMib} bounds it, and a booted VM fills it, so it is most of
     * a VM's host memory beyond its guest's.
     */
    List<String> qemuArgs(int tcgCacheMib, String kvmCpu) {
        return this == KVM
                ? List.of("-accel", "kvm", "-cpu", kvmCpu)
                : List.of("-accel", "tcg,tb-size=" + tcgCacheMib, "-cpu", "max");
    }

    /**
     * The guest kernel's command line under this accelerator. Under TCG, {@code norandmaps}: QEMU
     * (7.2) keys the code it has translated by virtual address, so with address-space randomization
     * every process start translates its program and libraries again. Without it a program started
     * before runs from the code already translated: about 5 times faster process starts, and
     * an SSH login into an idle guest in half the time. Under KVM nothing is translated, and guests
     * keep their randomization.
     */
    String guestCmdline(String cmdline) {
        return this == TCG ? cmdline + " norandmaps" : cmdline;
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
