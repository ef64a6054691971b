package dev.scalebox.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.scalebox.template.Template;

import dev.scalebox.vm.TemplateSnapshots;
import dev.scalebox.vm.VmService;

import java.time.Instant;
import java.util.List;

/** A template as the API shows it, with its memory snapshots (one per VM shape) and their state. */
record TemplateView(String name, long sizeBytes, Instant createdAt, @JsonProperty("protected") boolean isProtected,
                    String origin, List<TemplateSnapshots.Info> snapshots) {

    static TemplateView of(Template t, VmService vms) {
        return new TemplateView(t.name(), t.sizeBytes(), t.createdAt(), t.isProtected(), t.origin(),
                vms == null ? List.of() : vms.templateSnapshots(t.name()));  // null: an API of templates alone
    }
}
