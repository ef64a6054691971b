package dev.scalebox.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.scalebox.template.Template;

import java.time.Instant;

/** A template as the API shows it. */
record TemplateView(String name, long sizeBytes, Instant createdAt, @JsonProperty("protected") boolean isProtected,
                    String origin) {

    static TemplateView of(Template t) {
        return new TemplateView(t.name(), t.sizeBytes(), t.createdAt(), t.isProtected(), t.origin());
    }
}
