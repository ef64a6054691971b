package dev.scalebox.vm;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** When a start is given up on: by what the guest does, never by the clock alone. */
class BootProgressTest {

    private static final BootLimits LIMITS = new BootLimits(Duration.ofSeconds(60), 300);
    private static final long S = 1_000_000_000L;

    @Test
    void aStarvedBootThatKeepsUsingItsDiskIsNeverStuckHoweverLongAndDearItIs() {
        BootProgress progress = new BootProgress(LIMITS);
        // an hour at a fifth of a core, 720 s of CPU in all, console silent, a disk read now and then
        for (int t = 0; t <= 3600; t += 5) {
            assertThat(progress.judge(sample(t, t * 0.2, 0, t / 20, "running"))).as("at %d s", t).isEmpty();
        }
    }

    @Test
    void aGuestIdleWithNoDiskOrConsoleActivityForAWholeWindowIsStuck() {
        BootProgress progress = new BootProgress(LIMITS);
        assertThat(progress.judge(sample(0, 0, 0, 10, "running"))).isEmpty();
        assertThat(progress.judge(sample(30, 5, 100, 50, "running"))).isEmpty();
        assertThat(progress.judge(sample(60, 5.5, 100, 50, "running"))).isEmpty();
        assertThat(progress.judge(sample(85, 5.9, 100, 50, "running"))).as("quiet for 55 s only").isEmpty();
        assertThat(progress.judge(sample(95, 6.0, 100, 50, "running"))).hasValueSatisfying(why ->
                assertThat(why).contains("no progress for 65 s"));
    }

    @Test
    void consoleOutputIsProgressToo() {
        BootProgress progress = new BootProgress(LIMITS);
        for (int t = 0; t <= 300; t += 5) {
            assertThat(progress.judge(sample(t, 1, t, 7, "running"))).isEmpty();
        }
    }

    @Test
    void aGuestThatSpinsWithNoActivityPastItsCpuBudgetIsStuck() {
        BootProgress progress = new BootProgress(LIMITS);
        assertThat(progress.judge(sample(0, 10, 0, 100, "running"))).isEmpty();
        assertThat(progress.judge(sample(20, 40, 0, 200, "running"))).as("the last disk activity").isEmpty();
        assertThat(progress.judge(sample(160, 330, 0, 200, "running"))).as("290 s of CPU since").isEmpty();
        assertThat(progress.judge(sample(170, 350, 0, 200, "running"))).hasValueSatisfying(why ->
                assertThat(why).contains("310 s of CPU with no disk or console activity"));
    }

    @Test
    void aPanicOrAStateQemuCannotRunOnIsStuckAtOnce() {
        assertThat(new BootProgress(LIMITS).judge(sample(0, 0, 0, 0, "guest-panicked"))).hasValueSatisfying(why ->
                assertThat(why).contains("guest-panicked"));
        assertThat(new BootProgress(LIMITS).judge(sample(0, 0, 0, 0, "internal-error"))).isPresent();
        assertThat(new BootProgress(LIMITS).judge(new BootProgress.Sample(0, 0, 10, 5, "running", true)))
                .hasValueSatisfying(why -> assertThat(why).contains("kernel panicked"));
        assertThat(new BootProgress(LIMITS).judge(sample(0, 0, 0, 0, "unknown"))).isEmpty();
    }

    private static BootProgress.Sample sample(long seconds, double cpu, long console, long disk, String state) {
        return new BootProgress.Sample(seconds * S, cpu, console, disk, state, false);
    }
}
