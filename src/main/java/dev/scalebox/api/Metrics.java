package dev.scalebox.api;

import dev.scalebox.storage.StorageService;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStats;
import dev.scalebox.vm.VmStatus;
import dev.scalebox.gateway.Boxes;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * What {@code GET /metrics} shows, in Prometheus text: VMs by state, the create latency as the
 * API answered it, the time from QEMU's start to the guest's SSH banner, and the pool's space.
 * Gauges are read at scrape time, so they never disagree with the store.
 */
final class Metrics {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Timer createLatency;
    private final VmService vms;

    Metrics(VmService vms, StorageService storage, Boxes boxes) {
        this.vms = vms;
        for (VmStatus status : VmStatus.values()) {
            Gauge.builder("scalebox_vms", vms, v -> v.list().stream().filter(vm -> vm.status() == status).count())
                    .description("VMs by state").tag("state", status.label()).register(registry);
        }
        createLatency = Timer.builder("scalebox_vm_create")
                .description("POST /vms latency, from the request to the answer")
                .serviceLevelObjectives(ms(5), ms(10), ms(20), ms(50), ms(100), ms(250), ms(500), ms(1000), ms(5000))
                .register(registry);
        Counter suspendFailures = Counter.builder("scalebox_vm_suspend_failures_total")
                .description("Suspends whose memory could not be saved (the VM ran on)").register(registry);
        vms.onEvents(new VmService.Events() {
            @Override
            public void booted(String vmId, Map<String, Double> phases) {
                phases.forEach((phase, seconds) -> bootPhase(phase).record(seconds));
            }

            @Override
            public void stuck(String vmId, String reason, boolean again) {
                registry.counter("scalebox_vm_stuck_total", "then", again ? "booted_again" : "error").increment();
            }

            @Override
            public void suspendFailed(String vmId, String reason) {
                suspendFailures.increment();
            }
        });
        DistributionSummary waits = seconds("scalebox_admission_wait_seconds",
                "Time a start waited in line before it was let run", 0.1, 1, 5, 10, 30, 60, 120, 300, 600);
        vms.onAdmitted((what, waited) -> waits.record(waited));
        Gauge.builder("scalebox_admission_queue_length", vms, v -> v.admission().queued())
                .description("Starts waiting in line for a slot").register(registry);
        Gauge.builder("scalebox_admission_in_flight", vms, v -> v.admission().inFlight())
                .description("Starts let run now (MAX_CONCURRENT_STARTS at most, but for adopted ones)").register(registry);
        Gauge.builder("scalebox_admission_cost_in_flight", vms, v -> v.admission().cost())
                .description("Cores the starts let run now keep busy (one per vCPU under TCG)").register(registry);
        Gauge.builder("scalebox_admission_limit", vms, v -> v.admission().limit())
                .description("MAX_CONCURRENT_STARTS, in cores").register(registry);
        Gauge.builder("scalebox_storage_total_bytes", storage, s -> s.space().totalBytes())
                .description("Size of the filesystem that holds the VM disks").register(registry);
        Gauge.builder("scalebox_storage_available_bytes", storage, s -> s.space().availableBytes())
                .description("Space left for VM disks").register(registry);
        if (boxes != null) {
            registerBoxes(boxes);
        }
    }

    private void registerBoxes(Boxes boxes) {
        DistributionSummary resume = seconds("scalebox_box_resume_seconds",
                "Time from a suspended box's resume to its SSH session, set up", 0.5, 1, 2, 3, 5, 10, 30);
        DistributionSummary suspend = seconds("scalebox_box_suspend_seconds",
                "Time to save an idle box's memory and end its QEMU", 0.5, 1, 2, 3, 5, 10, 30);
        boxes.onEvents(new Boxes.Events() {
            @Override
            public void connected(String result) {
                registry.counter("scalebox_gateway_connects_total", "result", result).increment();
            }

            @Override
            public void resumed(double seconds) {
                resume.record(seconds);
            }

            @Override
            public void suspended(double seconds) {
                suspend.record(seconds);
            }
        });
        for (String state : List.of("ready", "making", "in_use")) {
            Gauge.builder("scalebox_pool_boxes", boxes, b -> switch (state) {
                case "ready" -> b.pool().volumes().ready();
                case "making" -> b.pool().volumes().making();
                default -> b.pool().volumes().inUse();
            }).description("Boxes by pool state: ready for a new user, being made, users' own").tag("state", state)
                    .register(registry);
        }
        Gauge.builder("scalebox_pool_warm_instances", boxes, b -> b.pool().instances().warm())
                .description("Warm instances: blank QEMUs waiting for a box to resume in them").register(registry);
        Gauge.builder("scalebox_box_instances", boxes, b -> b.pool().instances().inAll())
                .description("QEMUs of boxes running: in use, warm and being made (POOL_INSTANCES_TOTAL at most)")
                .register(registry);
    }

    /**
     * The phases of starts: queued, qemu (QEMU's start), kernel (until the guest's kernel runs),
     * userspace (from there to SSH), boot (admission to SSH), resume (admission to SSH).
     */
    private DistributionSummary bootPhase(String phase) {
        return DistributionSummary.builder("scalebox_vm_boot_seconds").description("Seconds of each phase of a VM's start")
                .baseUnit("seconds").tag("phase", phase).serviceLevelObjectives(0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300)
                .register(registry);
    }

    private DistributionSummary seconds(String name, String description, double... objectives) {
        return DistributionSummary.builder(name).description(description).baseUnit("seconds")
                .serviceLevelObjectives(objectives).register(registry);
    }

    void recordCreate(long nanos) {
        createLatency.record(Duration.ofNanos(nanos));
    }

    String scrape() {
        return registry.scrape() + perVm();
    }

    /** One family of per-VM figures: its name, type, help, and how to read it off a sample (null: unknown). */
    private record VmFamily(String name, String type, String help, Function<VmStats.Sample, Number> value) {
    }

    private static final List<VmFamily> VM_FAMILIES = List.of(
            new VmFamily("scalebox_vm_cpu_seconds_total", "counter", "CPU time of the VM's QEMU", VmStats.Sample::cpuSeconds),
            new VmFamily("scalebox_vm_rss_bytes", "gauge", "Resident memory of the VM's QEMU on the host", VmStats.Sample::rssBytes),
            new VmFamily("scalebox_vm_guest_memory_used_bytes", "gauge", "Memory in use in the guest (MemTotal - MemAvailable)",
                    VmStats.Sample::guestMemoryBytes),
            new VmFamily("scalebox_vm_disk_own_bytes", "gauge", "Bytes of the VM's disk shared with no template or clone",
                    VmStats.Sample::diskOwnBytes),
            new VmFamily("scalebox_vm_network_receive_bytes_total", "counter", "Bytes the guest received",
                    VmStats.Sample::netRxBytes),
            new VmFamily("scalebox_vm_network_transmit_bytes_total", "counter", "Bytes the guest sent",
                    VmStats.Sample::netTxBytes));

    /** The latest sample of each running VM, with a {@code vm} label of its id. */
    private String perVm() {
        Map<String, VmStats.Sample> latest = vms.latestStats();
        StringBuilder out = new StringBuilder();
        for (VmFamily family : VM_FAMILIES) {
            out.append("# HELP ").append(family.name()).append(' ').append(family.help()).append('\n');
            out.append("# TYPE ").append(family.name()).append(' ').append(family.type()).append('\n');
            latest.forEach((id, sample) -> {
                Number v = family.value().apply(sample);
                if (v != null) {
                    out.append(family.name()).append("{vm=\"").append(id).append("\"} ").append(v).append('\n');
                }
            });
        }
        return out.toString();
    }

    private static Duration ms(long millis) {
        return Duration.ofMillis(millis);
    }
}
