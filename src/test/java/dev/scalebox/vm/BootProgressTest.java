package dev.scalebox.vm;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** When a start is given up on: by what the guest does, never by the clock alone. */
class BootProgressTest {

    private static final BootLimits LIMITS = new BootLimits(Duration.ofSeconds(60), 300);
    private static final long S = 1_000_000_000L;

    @Test
    void aSlowBootThatKeepsItsVcpusBusyIsNeverStuck() {
        BootProgress progress = new BootProgress(LIMITS);
        // ten minutes, starved to a fifth of a core, console silent all along
        for (int t = 0; t <= 600; t += 5) {
            assertThat(progress.judge(sample(t, t * 0.2, 0, "running"))).as("at %d s", t).isEmpty();
        }
    }

    @Test
    void aGuestIdleWithASilentConsoleForAWholeWindowIsStuck() {
        BootProgress progress = new BootProgress(LIMITS);
        assertThat(progress.judge(sample(0, 0, 0, "running"))).isEmpty();
        assertThat(progress.judge(sample(30, 5, 100, "running"))).isEmpty();
        assertThat(progress.judge(sample(60, 5.5, 100, "running"))).isEmpty();
        assertThat(progress.judge(sample(85, 5.9, 100, "running"))).as("idle for 55 s only").isEmpty();
        assertThat(progress.judge(sample(95, 6.0, 100, "running"))).hasValueSatisfying(why ->
                assertThat(why).contains("no progress for 65 s"));
    }

    @Test
    void consoleOutputIsProgress() {
        BootProgress progress = new BootProgress(LIMITS);
        for (int t = 0; t <= 300; t += 5) {
            assertThat(progress.judge(sample(t, 1, t, "running"))).isEmpty();
        }
    }

    @Test
    void aGuestThatSpinsPastItsCpuBudgetIsStuck() {
        BootProgress progress = new BootProgress(LIMITS);
        assertThat(progress.judge(sample(0, 10, 0, "running"))).isEmpty();
        assertThat(progress.judge(sample(140, 290, 0, "running"))).isEmpty();
        assertThat(progress.judge(sample(160, 311, 0, "running"))).hasValueSatisfying(why ->
                assertThat(why).contains("301 s of CPU"));
    }

    @Test
    void aPanicOrAStateQemuCannotRunOnIsStuckAtOnce() {
        assertThat(new BootProgress(LIMITS).judge(sample(0, 0, 0, "guest-panicked"))).hasValueSatisfying(why ->
                assertThat(why).contains("guest-panicked"));
        assertThat(new BootProgress(LIMITS).judge(sample(0, 0, 0, "internal-error"))).isPresent();
        assertThat(new BootProgress(LIMITS).judge(new BootProgress.Sample(0, 0, 10, "running", true)))
                .hasValueSatisfying(why -> assertThat(why).contains("kernel panicked"));
        assertThat(new BootProgress(LIMITS).judge(sample(0, 0, 0, "unknown"))).isEmpty();
    }

    private static BootProgress.Sample sample(long seconds, double cpu, long console, String state) {
        return new BootProgress.Sample(seconds * S, cpu, console, state, false);
    }
}
