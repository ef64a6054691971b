package dev.scalebox.vm;

/**
 * What a start of Scalebox does with a QEMU it finds alive for a VM, from the VM's record, what
 * QMP says of the guest, and whether a saved memory state waits for it. The cases come from where
 * a crash (a {@code kill -9} of the service) can cut an operation short:
 * <ul>
 *   <li>a resume (in a warm instance or a QEMU of its own) before its memory was loaded and let
 *       run: the QEMU waits {@code inmigrate} or {@code prelaunch}, and the state file is whole,
 *       since it is only removed once the guest runs. The QEMU ends; the VM stays suspended.</li>
 *   <li>a suspend (the guest paused, its memory being written, or written and renamed but the
 *       QEMU not yet ended), or a snapshot's pause: the guest is {@code paused} or
 *       {@code postmigrate} with its disk untouched since. It runs on, and any state written is
 *       dropped: the suspend did not happen.</li>
 *   <li>anything else that runs: adopted as it is.</li>
 * </ul>
 */
enum Recovery {
    END_KEEP_STATE, CONTINUE, ADOPT;

    static Recovery of(VmStatus status, String runState, boolean hasSavedState) {
        boolean notLoaded = runState.equals("inmigrate") || runState.equals("prelaunch");
        if (notLoaded && (hasSavedState || status == VmStatus.SUSPENDED)) {
            return END_KEEP_STATE;
        }
        if (status == VmStatus.SUSPENDED) {
            return END_KEEP_STATE;  // a QEMU loaded ahead for a suspended VM holds nothing of it yet
        }
        return switch (runState) {
            case "paused", "postmigrate", "finish-migrate" -> CONTINUE;
            default -> ADOPT;
        };
    }
}
