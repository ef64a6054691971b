# Run by Scalebox as root in a guest it has just resumed: through the guest agent in a VM made
# from a template's memory snapshot, over SSH in a box of the gateway. Reads "KEY HEX" lines on
# stdin up to its end or a "clock" line. Sets the hostname; in a guest that is a new copy of a
# shared memory state, also renews what no two guests may share: the SSH host key, the machine id
# and the kernel's random pool, and sets root's authorized key and grows the root filesystem to
# the disk it was given. With "clock" it sets the clock last (it stands where the guest was
# saved): it asks for the time ("time?") only once everything else is done and sets it the moment
# it arrives, so the clock is the host's within the time of one message, however slow the guest.
# Through the agent it moves the clock by "clock_offset_ns", which the host measured. One process,
# because under TCG each program started in the guest costs about 0.1 s.
use strict;
use warnings;

$| = 1;
my %v;
my $clock = 0;
while (my $line = <STDIN>) {
    chomp $line;
    if ($line eq 'clock') {
        $clock = 1;
        last;
    }
    my ($key, $hex) = split / /, $line, 2;
    $v{$key} = pack('H*', $hex // '');
}

sub put {
    my ($path, $mode, $data) = @_;
    open(my $f, '>', "$path.new") or die "$path.new: $!\n";
    chmod($mode, "$path.new") or die "chmod $path.new: $!\n";
    print {$f} $data or die "$path.new: $!\n";
    close($f) or die "$path.new: $!\n";
    rename("$path.new", $path) or die "rename $path: $!\n";
}

# The clock first, so that what follows is stamped with the right time: moved by the offset the
# host measured (its clock less this one), which holds while the clock runs on from a resume.
if (defined $v{clock_offset_ns}) {
    my $now = pack('qq', 0, 0);
    syscall(96, $now, 0) == 0 or die "gettimeofday: $!\n";   # x86_64: struct timeval, two 64-bit integers
    my ($sec, $usec) = unpack('qq', $now);
    my $micros = $sec * 1_000_000 + $usec + int($v{clock_offset_ns} / 1000);
    syscall(164, pack('qq', int($micros / 1_000_000), $micros % 1_000_000), 0) == 0 or die "settimeofday: $!\n";
}

if (defined $v{seed}) {
    open(my $random, '>', '/dev/urandom') or die "/dev/urandom: $!\n";
    syswrite($random, $v{seed}) or die "/dev/urandom: $!\n";
    # RNDRESEEDCRNG: reseed the kernel's generator now, not at its next interval
    ioctl($random, 0x5207, 0) or die "RNDRESEEDCRNG: $!\n";
    close($random);
}

# sshd re-executes itself for each connection and reads its host key then: no restart, which
# would refuse the connections that arrive meanwhile.
if (defined $v{host_key}) {
    unlink(glob('/etc/ssh/ssh_host_*'));
    put('/etc/ssh/ssh_host_ed25519_key', 0600, $v{host_key});
    put('/etc/ssh/ssh_host_ed25519_key.pub', 0644, $v{host_key_pub});
}

if (defined $v{machine_id}) {
    put('/etc/machine-id', 0444, "$v{machine_id}\n");
}

if (defined $v{authorized_key}) {
    mkdir('/root/.ssh', 0700);
    chmod(0700, '/root/.ssh') or die "chmod /root/.ssh: $!\n";
    put('/root/.ssh/authorized_keys', 0600, $v{authorized_key});
}

# The disk was grown under the running guest; its kernel hears of the new size a moment later.
if (defined $v{disk_bytes}) {
    my $waited = 0;
    while (1) {
        open(my $size, '<', '/sys/block/vda/size') or die "/sys/block/vda/size: $!\n";
        my $sectors = <$size>;
        last if $sectors * 512 >= $v{disk_bytes};
        die "the disk did not grow to $v{disk_bytes} bytes\n" if $waited++ > 300;
        select(undef, undef, undef, 0.1);
    }
    system('/sbin/resize2fs', '/dev/vda') == 0 or die "resize2fs failed\n";
}

if (defined $v{hostname}) {
    my $name = $v{hostname};
    open(my $current, '<', '/etc/hostname');
    my $old = $current ? <$current> // '' : '';
    chomp $old;
    if ($old ne $name) {
        put('/etc/hostname', 0644, "$name\n");
        open(my $hosts, '<', '/etc/hosts') or die "/etc/hosts: $!\n";
        my $text = join('', <$hosts>);
        $text =~ s/^127\.0\.1\.1\s.*$/127.0.1.1 $name/m or $text .= "127.0.1.1 $name\n";
        put('/etc/hosts', 0644, $text);
    }
    open(my $kernel, '>', '/proc/sys/kernel/hostname') or die "hostname: $!\n";
    print {$kernel} $name;
    close($kernel) or die "hostname: $!\n";
}

exit 0 unless $clock;
print "time?\n";
my $time = <STDIN> // die "no time came\n";
chomp $time;
my ($sec, $usec) = split /\./, $time;
syscall(164, pack('qq', $sec, $usec), 0) == 0 or die "settimeofday: $!\n";

print "ok\n";
