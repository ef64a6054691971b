package dev.scalebox.hypervisor;

import dev.scalebox.ScaleboxException;

/** The pause between two looks at QEMU or a guest; an interrupt ends the wait as a failure saying {@code during}. */
final class Sleep {

    private Sleep() {
    }

    static void millis(long millis, String during) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScaleboxException.HostFailure("interrupted" + (during.isEmpty() ? "" : " while " + during));
        }
    }
}
