package dev.scalebox.hypervisor;

import java.nio.file.Path;

/**
 * What QEMU needs to run one VM.
 *
 * @param vmId        the VM's id, also QEMU's process name ({@code scalebox-ID}), which is how a
 *                    process is recognised as ours after a restart
 * @param runDir      where the pid file, QMP socket and serial log live
 * @param bindAddress the host address the guest's SSH is forwarded on
 */
public record VmSpec(String vmId, int vcpus, int memMib, Path disk, Path runDir, String bindAddress, int sshPort,
                     Path kernel, Path initrd, String cmdline) {

    public Path pidFile() { return runDir.resolve("qemu.pid"); }
    public Path qmpSocket() { return runDir.resolve("qmp.sock"); }
    public Path serialLog() { return runDir.resolve("serial.log"); }
}
