package dev.scalebox.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** p50, p95 and the mean of a benchmark's samples, in their unit. */
record Percentiles(double p50, double p95, double mean) {

    static Percentiles of(List<Double> samples) {
        List<Double> sorted = new ArrayList<>(samples);
        Collections.sort(sorted);
        return new Percentiles(sorted.get(sorted.size() / 2), sorted.get((int) Math.ceil(sorted.size() * 0.95) - 1),
                sorted.stream().mapToDouble(Double::doubleValue).average().orElse(0));
    }
}
