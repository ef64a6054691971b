package dev.scalebox.api;

import dev.scalebox.host.Filesystems;
import dev.scalebox.host.HostFacts;
import dev.scalebox.vm.Admission;
import dev.scalebox.vm.Vm;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** {@code GET /info}: what this Scalebox is and what it runs on. */
record InfoView(String version, String accelerator, Storage storage, Memory memory, Cpu cpu, Counts counts,
                Starts starts, List<String> orphans) {

    private static final double GB = 1e9;

    record Storage(String filesystem, double totalGb, double usedGb, double freeGb, boolean reflink) {
    }

    record Memory(long totalMib, long availableMib) {
    }

    record Cpu(int cores, String model) {
    }

    record Counts(int vms, Map<String, Integer> vmsByStatus, int templates) {
    }

    /**
     * The host's line of starts: MAX_CONCURRENT_STARTS, the cost (cores) let run now, the starts let
     * run now, those waiting.
     */
    record Starts(int maxConcurrent, int costInFlight, int inFlight, int queued) {
    }

    static InfoView of(ApiServer.Services services) {
        Filesystems.Space space = services.storage().space();
        HostFacts host = HostFacts.read();
        List<Vm> vms = services.vms() == null ? List.of() : services.vms().list();
        Map<String, Integer> byStatus = new TreeMap<>();
        vms.forEach(vm -> byStatus.merge(vm.status().label(), 1, Integer::sum));
        return new InfoView(currentVersion(), services.accelerator(),
                new Storage(space.type(), round(space.totalBytes()), round(space.usedBytes()), round(space.availableBytes()),
                        services.storage().reflinks()),
                new Memory(host.memTotalMib(), host.memAvailableMib()),
                new Cpu(host.cpuCores(), host.cpuModel()),
                new Counts(vms.size(), byStatus, services.templates().list().size()),
                services.vms() == null ? null : starts(services.vms().admission()),
                services.vms() == null ? List.of() : services.vms().orphans());
    }

    private static Starts starts(Admission.Status line) {
        return new Starts(line.limit(), line.cost(), line.inFlight(), line.queued());
    }

    static String currentVersion() {
        String v = InfoView.class.getPackage().getImplementationVersion();
        return v != null ? v : "development";
    }

    private static double round(long bytes) {
        return Math.round(bytes / GB * 100) / 100.0;
    }
}
