package dev.scalebox.vm;

import dev.scalebox.host.ProgramRunner;
import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.hypervisor.Instance;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.SshHostKey;
import dev.scalebox.storage.SshPublicKey;
import dev.scalebox.storage.StorageService;
import dev.scalebox.store.VmStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A new VM's own identity: root's authorized key and an SSH host key made on the host, whose
 * public part the VM's record keeps. A booting VM has the key written into its disk at its create
 * and the host key before its first boot (a VM that never ran has no {@code started_from}). A
 * VM made from a template's memory snapshot cannot have them written: its guest's page cache would not see a write
 * under it. Its key waits beside its disk ({@code ID.personalize}) until its first resume, after
 * which the guest agent gives the guest its key, hostname, host key, machine id, random seed,
 * grown filesystem and clock; only then does it count as started. When that resume or that
 * personalization fails, the disk (taken from a running guest) has its journal replayed and the
 * key and host key written, and the VM boots.
 */
final class FirstStart {

    private static final Logger log = LoggerFactory.getLogger(FirstStart.class);
    private static final long GIB = 1L << 30;

    private final DataLayout layout;
    private final StorageService storage;
    private final Hypervisor hypervisor;
    private final VmStore store;
    private final ProgramRunner runner = new ProgramRunner();
    private final SecureRandom random = new SecureRandom();

    FirstStart(DataLayout layout, StorageService storage, Hypervisor hypervisor, VmStore store) {
        this.layout = layout;
        this.storage = storage;
        this.hypervisor = hypervisor;
        this.store = store;
    }

    /** Writes the VM's own host key into its disk, before its first boot, and records it. */
    void giveHostKey(VmStore.Row row) {
        SshHostKey key = newHostKey();
        if (storage.writeHostKey(layout.disk(row.id(), row.box()), key)) {
            store.setStart(row.id(), null, key.publicKey());
        }
    }

    /** Keeps {@code authorizedKey} for the guest of a VM cloned from a memory snapshot, until it resumes. */
    void plan(VmStore.Row row, String authorizedKey) {
        Path file = file(row);
        Path partial = file.resolveSibling("." + file.getFileName() + ".partial");
        try {
            Files.deleteIfExists(partial);
            Files.writeString(Files.createFile(partial, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------"))), SshPublicKey.parse(authorizedKey).toLine() + "\n");
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the key of " + row.id(), e);
        }
    }

    /** The authorized key waiting for the VM's guest; empty once the guest has it. */
    Optional<String> pending(VmStore.Row row) {
        try {
            return Optional.of(Files.readString(file(row), StandardCharsets.US_ASCII).strip());
        } catch (java.nio.file.NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * What makes the guest just resumed from a template's snapshot the VM's own, to run on its
     * instance; it fails when the guest cannot be, and then the VM boots instead. The key is
     * forgotten ({@link #forget}) only once the whole resume succeeded.
     */
    Consumer<Instance> personalization(VmStore.Row row, String authorizedKey) {
        return instance -> {
            long started = System.nanoTime();
            SshHostKey hostKey = newHostKey();
            Personalization setup = Personalization.hostname(row.name()).renew(hostKey, random).authorizedKey(authorizedKey);
            long bytes = row.diskSizeGib() * GIB;
            try {
                if (Files.size(layout.disk(row.id(), row.box())) < bytes) {
                    hypervisor.growDisk(instance, bytes);
                    setup.growTo(bytes);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            setup.applyTo(row.id(), layout.runDir(row.id()));
            store.setStart(row.id(), "snapshot", hostKey.publicKey());
            log.info("Made VM {} its own in {} ms", row.id(), (System.nanoTime() - started) / 1_000_000);
        };
    }

    /** Makes the disk of a VM cloned from a memory snapshot ready to boot as a new machine with its key. */
    void prepareBoot(VmStore.Row row, String authorizedKey) {
        Path disk = layout.disk(row.id(), row.box());
        storage.recoverJournal(disk);
        storage.resizeRootfs(disk, row.diskSizeGib());
        storage.injectSshKey(disk, authorizedKey);
        giveHostKey(row);
        forget(row);
    }

    void recordBoot(VmStore.Row row) {
        store.setStart(row.id(), "boot", null);
    }

    /** A VM resumed from saved memory for the first time (a fork, a box) counts as started from a snapshot. */
    void recordResume(VmStore.Row row) {
        if (row.startedFrom() == null) {
            store.setStart(row.id(), "snapshot", null);
        }
    }

    void forget(VmStore.Row row) {
        try {
            Files.deleteIfExists(file(row));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private SshHostKey newHostKey() {
        return SshHostKey.generate(runner, layout.scratch());
    }

    private Path file(VmStore.Row row) {
        return layout.personalization(row.id(), row.box());
    }
}
