package dev.scalebox.api;

import dev.scalebox.storage.StorageService;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;

/**
 * What {@code GET /metrics} shows, in Prometheus text: VMs by state, the create latency as the
 * API answered it, the time from QEMU's start to the guest's SSH banner, and the pool's space.
 * Gauges are read at scrape time, so they never disagree with the store.
 */
final class Metrics {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Timer createLatency;

    Metrics(VmService vms, StorageService storage) {
        for (VmStatus status : VmStatus.values()) {
            Gauge.builder("scalebox_vms", vms, v -> v.list().stream().filter(vm -> vm.status() == status).count())
                    .description("VMs by state").tag("state", status.label()).register(registry);
        }
        createLatency = Timer.builder("scalebox_vm_create")
                .description("POST /vms latency, from the request to the answer")
                .serviceLevelObjectives(ms(5), ms(10), ms(20), ms(50), ms(100), ms(250), ms(500), ms(1000), ms(5000))
                .register(registry);
        DistributionSummary boot = DistributionSummary.builder("scalebox_vm_boot_seconds")
                .description("Time from QEMU's start to the guest's SSH banner")
                .baseUnit("seconds")
                .serviceLevelObjectives(2, 5, 10, 15, 20, 30, 60, 120, 300)
                .register(registry);
        vms.onBoot((id, seconds) -> boot.record(seconds));
        Gauge.builder("scalebox_storage_total_bytes", storage, s -> s.space().totalBytes())
                .description("Size of the filesystem that holds the VM disks").register(registry);
        Gauge.builder("scalebox_storage_available_bytes", storage, s -> s.space().availableBytes())
                .description("Space left for VM disks").register(registry);
    }

    void recordCreate(long nanos) {
        createLatency.record(Duration.ofNanos(nanos));
    }

    String scrape() {
        return registry.scrape();
    }

    private static Duration ms(long millis) {
        return Duration.ofMillis(millis);
    }
}
