package dev.scalebox.hypervisor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Whether a process that is not our child still runs, from {@code /proc/PID/stat}. QEMU outlives
 * the service that started it, and then its parent is init, which on some hosts (containers, microVMs) reaps late: a
 * killed QEMU can stay a zombie for a while, and the JDK's {@link ProcessHandle#isAlive} counts a
 * zombie as alive. Here a zombie whose threads have all exited is gone, and a pid reused by
 * another process is told apart by its start time.
 */
final class ProcessStatus {

    private ProcessStatus() {
    }

    /** The process's start time in clock ticks since boot, or empty when it is gone or a zombie. */
    static OptionalLong startTime(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // The command name (field 2) is in parentheses and may hold spaces: split after it.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            char state = fields[0].charAt(0);
            if ((state == 'Z' || state == 'X') && threads(pid) <= 1) {
                return OptionalLong.empty();
            }
            return OptionalLong.of(Long.parseLong(fields[19]));
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * The threads left in the process. A killed process's leader turns zombie while its other
     * threads (QEMU's vCPUs) still exit, and the process's files, its forwarded ports among them,
     * close only with the last of them.
     */
    private static long threads(long pid) {
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            return tasks.count();
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * The user and system time the process has used, all its threads, in seconds (the kernel's
     * clock ticks, USER_HZ, are 100 a second on every Linux architecture Scalebox runs on).
     */
    static double cpuSeconds(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / 100.0;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The process's resident memory in bytes; -1 when it is gone. */
    static long rssBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone meanwhile
        }
        return -1;
    }

    /** The real uid of the process whose {@code /proc} directory is {@code proc}; empty when it is gone. */
    static Optional<Integer> uid(Path proc) {
        try {
            for (String line : Files.readAllLines(proc.resolve("status"))) {
                if (line.startsWith("Uid:")) {
                    return Optional.of(Integer.parseUnsignedInt(line.substring(4).strip().split("\\s+")[0]));
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone meanwhile
        }
        return Optional.empty();
    }

    static boolean isAlive(long pid, long startTime) {
        OptionalLong now = startTime(pid);
        return now.isPresent() && now.getAsLong() == startTime;
    }
}
