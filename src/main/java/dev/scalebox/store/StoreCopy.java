package dev.scalebox.store;

import dev.scalebox.ScaleboxException;

/**
 * Copies the records of one store into another that holds none: templates, users and VMs, every
 * field as it is. VMs and templates that name no host, from before hosts, go to the target's host.
 * The storage journal stays behind, since each host applies its own storage. A copy
 * that fails part way removes what it wrote, so the target is left empty again; the source is only
 * read.
 */
public final class StoreCopy {

    /** What was copied. */
    public record Counts(int templates, int users, int vms) {
    }

    private StoreCopy() {
    }

    public static Counts copy(Database from, Database to) {
        Counts already = counts(to);
        if (already.templates() + already.users() + already.vms() > 0) {
            throw new ScaleboxException.Conflict(to.description() + " already holds " + already.templates() + " templates, "
                    + already.users() + " users and " + already.vms() + " VMs; copy into an empty database");
        }
        try {
            from.templates().listAll().forEach(to.templates()::put);
            from.users().list().forEach(u -> require(to.users().insert(u), "user " + u.name()));
            for (VmStore.Row vm : from.vms().listAll()) {
                require(to.vms().insert(vm), "VM " + vm.name());
                to.vms().setStart(vm.id(), vm.startedFrom(), vm.sshHostKey());
            }
        } catch (RuntimeException e) {
            to.vms().listAll().forEach(vm -> to.vms().delete(vm.id()));
            to.users().list().forEach(u -> to.users().delete(u.id()));
            to.templates().listAll().forEach(t -> to.templates().delete(t.name()));
            throw e;
        }
        Counts copied = counts(to);
        if (!copied.equals(counts(from))) {
            throw new IllegalStateException("the copy holds " + copied + " but the source " + counts(from));
        }
        return copied;
    }

    private static Counts counts(Database db) {
        return new Counts(db.templates().listAll().size(), db.users().list().size(), db.vms().listAll().size());
    }

    private static void require(boolean inserted, String what) {
        if (!inserted) {
            throw new ScaleboxException.Conflict(what + " is already in the target");
        }
    }
}
