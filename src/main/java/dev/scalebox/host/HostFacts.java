package dev.scalebox.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** This host's CPU and memory, read from {@code /proc}. */
public record HostFacts(int cpuCores, String cpuModel, long memTotalMib, long memAvailableMib) {

    /** MemAvailable from /proc/meminfo in MiB, or -1 when it cannot be read. */
    public static long availableMemMib() {
        return meminfoMib(lines("/proc/meminfo"), "MemAvailable:");
    }

    public static HostFacts read() {
        List<String> meminfo = lines("/proc/meminfo");
        String model = lines("/proc/cpuinfo").stream().filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse("unknown");
        return new HostFacts(Runtime.getRuntime().availableProcessors(), model,
                meminfoMib(meminfo, "MemTotal:"), meminfoMib(meminfo, "MemAvailable:"));
    }

    private static long meminfoMib(List<String> meminfo, String key) {
        return meminfo.stream().filter(l -> l.startsWith(key))
                .mapToLong(l -> Long.parseLong(l.replaceAll("\\D+", "")) / 1024).findFirst().orElse(-1);
    }

    private static List<String> lines(String file) {
        try {
            return Files.readAllLines(Path.of(file));
        } catch (IOException e) {
            return List.of();
        }
    }
}
