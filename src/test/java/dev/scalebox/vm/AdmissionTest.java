package dev.scalebox.vm;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The host's line of starts, as logic: limits in cores, first come first served, persons first. */
class AdmissionTest {

    @Test
    void startsRunWithinTheLimitAndTheRestWaitInTurn() {
        Admission line = new Admission(2);
        Admission.Ticket a = line.request(Admission.Priority.PERSON, "a", 2);
        Admission.Ticket b = line.request(Admission.Priority.PERSON, "b", 2);
        Admission.Ticket c = line.request(Admission.Priority.PERSON, "c", 2);

        assertThat(a.admitted()).isDone();
        assertThat(b.admitted()).isNotDone();
        assertThat(b.ahead()).isZero();
        assertThat(c.ahead()).isEqualTo(1);
        assertThat(line.status()).isEqualTo(new Admission.Status(2, 2, 1, 2));

        a.close();
        assertThat(b.admitted()).isDone();
        assertThat(c.admitted()).isNotDone();
        assertThat(c.ahead()).isZero();
        b.close();
        assertThat(c.admitted()).isDone();
        c.close();
        assertThat(line.status()).isEqualTo(new Admission.Status(2, 0, 0, 0));
    }

    @Test
    void cheapStartsShareTheCoresButNeverPassTheHeadOfTheLine() {
        Admission line = new Admission(2);
        Admission.Ticket one = line.request(Admission.Priority.PERSON, "1 vCPU", 1);
        Admission.Ticket two = line.request(Admission.Priority.PERSON, "2 vCPUs", 2);
        Admission.Ticket three = line.request(Admission.Priority.PERSON, "another 1 vCPU", 1);

        assertThat(one.admitted()).isDone();
        assertThat(two.admitted()).as("does not fit beside the first").isNotDone();
        assertThat(three.admitted()).as("would fit, but the 2-vCPU start is ahead of it").isNotDone();
        one.close();
        assertThat(two.admitted()).isDone();
        two.close();
        assertThat(three.admitted()).isDone();
    }

    @Test
    void aStartDearerThanTheLimitStillRunsAlone() {
        Admission line = new Admission(1);
        Admission.Ticket big = line.request(Admission.Priority.PERSON, "4 vCPUs", 4);
        assertThat(big.admitted()).isDone();
        Admission.Ticket next = line.request(Admission.Priority.PERSON, "next", 1);
        assertThat(next.admitted()).isNotDone();
        big.close();
        assertThat(next.admitted()).isDone();
    }

    @Test
    void aPersonGoesAheadOfBackgroundWorkAndWaitsOnlyForWhatRuns() {
        Admission line = new Admission(1);
        Admission.Ticket running = line.request(Admission.Priority.BACKGROUND, "ready box", 1);
        Admission.Ticket pool1 = line.request(Admission.Priority.BACKGROUND, "ready box 2", 1);
        Admission.Ticket pool2 = line.request(Admission.Priority.BACKGROUND, "warm instance", 1);
        Admission.Ticket person = line.request(Admission.Priority.PERSON, "a user", 1);

        assertThat(person.ahead()).isZero();
        assertThat(pool1.ahead()).isEqualTo(1);
        running.close();
        assertThat(person.admitted()).isDone();
        assertThat(pool1.admitted()).isNotDone();
        person.close();
        assertThat(pool1.admitted()).isDone();
        pool1.close();
        assertThat(pool2.admitted()).isDone();
    }

    @Test
    void closingAWaitingTicketLeavesTheLineAndTellsThoseBehind() {
        Admission line = new Admission(1);
        List<String> moves = new ArrayList<>();
        List<Double> waits = new ArrayList<>();
        line.onMove(() -> moves.add("moved"));
        line.onAdmitted((what, waited) -> waits.add(waited));
        Admission.Ticket first = line.request(Admission.Priority.PERSON, "first", 1);
        Admission.Ticket gone = line.request(Admission.Priority.PERSON, "gives up", 1);
        Admission.Ticket last = line.request(Admission.Priority.PERSON, "last", 1);

        gone.close();
        assertThat(gone.admitted()).isCancelled();
        assertThat(last.ahead()).isZero();
        first.close();
        first.close();  // twice is harmless
        assertThat(last.admitted()).isDone();
        assertThat(line.status().inFlight()).isEqualTo(1);
        assertThat(moves).hasSizeGreaterThanOrEqualTo(3);
        assertThat(waits).hasSize(2).allMatch(w -> w >= 0);
    }

    @Test
    void anAdoptedStartCountsAtOnceEvenPastTheLimit() {
        Admission line = new Admission(1);
        Admission.Ticket running = line.request(Admission.Priority.PERSON, "running", 1);
        Admission.Ticket adopted = line.admitNow("adopted", 2);
        assertThat(adopted.admitted()).isDone();
        assertThat(line.status()).isEqualTo(new Admission.Status(1, 3, 2, 0));
        Admission.Ticket next = line.request(Admission.Priority.PERSON, "next", 1);
        running.close();
        assertThat(next.admitted()).isNotDone();
        adopted.close();
        assertThat(next.admitted()).isDone();
    }

    @Test
    void theDefaultLimitIsTheCoresAndAStartUnderTcgCostsItsVcpus() {
        assertThat(Admission.defaultLimit(2)).isEqualTo(2);
        assertThat(Admission.defaultLimit(0)).isEqualTo(1);
        assertThat(Admission.startCost(dev.scalebox.hypervisor.Accelerator.TCG, 2)).isEqualTo(2);
        assertThat(Admission.startCost(dev.scalebox.hypervisor.Accelerator.KVM, 8)).isEqualTo(1);
    }
}
