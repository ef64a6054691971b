package dev.scalebox.vm;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The milestones of one start, in {@link System#nanoTime} (0 where not reached): asked for, let in
 * by admission, QEMU up, the guest's kernel running (a boot only), SSH answering.
 * A boot's time counts from its admission, when its QEMU is let run, not from the request.
 */
record Boot(Kind kind, long requested, long admitted, long qemu, long kernel, long answered) {

    enum Kind { BOOT, RESUME, ADOPTED }

    /** A start let in by admission at {@code admitted}, asked for at {@code requested}. */
    Boot(long requested, long admitted) {
        this(Kind.BOOT, requested, admitted, 0, 0, 0);
    }

    /** A boot again of a guest that was stuck: it keeps its place, so it waited for nothing. */
    static Boot admittedNow() {
        long now = System.nanoTime();
        return new Boot(now, now);
    }

    /** A start that was under way when Scalebox started: its milestones are unknown. */
    static Boot adopted() {
        long now = System.nanoTime();
        return new Boot(Kind.ADOPTED, now, now, now, 0, 0);
    }

    Boot withQemuUp() {
        return new Boot(Kind.BOOT, requested, admitted, System.nanoTime(), 0, 0);
    }

    Boot withResumed() {
        return new Boot(Kind.RESUME, requested, admitted, System.nanoTime(), 0, 0);
    }

    Boot withKernelUp() {
        return new Boot(kind, requested, admitted, qemu, System.nanoTime(), answered);
    }

    Boot withAnswer() {
        return new Boot(kind, requested, admitted, qemu, kernel, System.nanoTime());
    }

    boolean isBoot() {
        return kind == Kind.BOOT;
    }

    /**
     * Seconds spent in each phase: {@code queued}, {@code qemu} (QEMU's start), {@code kernel} (the
     * firmware and the kernel's decompression, until the kernel runs), {@code userspace} (from
     * there to SSH: the kernel's start, the initrd and the init system) and {@code boot} (the
     * whole, from admission to SSH); a resume has {@code queued} and {@code resume}. Empty for an
     * adopted start.
     */
    Map<String, Double> phases() {
        Map<String, Double> phases = new LinkedHashMap<>();
        if (kind == Kind.ADOPTED || answered == 0) {
            return phases;
        }
        phases.put("queued", seconds(requested, admitted));
        if (kind == Kind.RESUME) {
            phases.put("resume", seconds(admitted, answered));
            return phases;
        }
        phases.put("qemu", seconds(admitted, qemu));
        if (kernel != 0) {
            phases.put("kernel", seconds(qemu, kernel));
            phases.put("userspace", seconds(kernel, answered));
        }
        phases.put("boot", seconds(admitted, answered));
        return phases;
    }

    String describe() {
        Map<String, Double> phases = phases();
        if (phases.isEmpty()) {
            return "adopted while starting";
        }
        return phases.entrySet().stream().map(e -> String.format("%s %.1f s", e.getKey(), e.getValue()))
                .collect(Collectors.joining(", "));
    }

    private static double seconds(long from, long to) {
        return (to - from) / 1e9;
    }
}
