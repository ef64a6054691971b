# Run by the Scalebox gateway as root in a box it has just resumed. Reads "KEY HEX" lines on
# stdin up to a "clock" line. Sets the hostname; on the first resume of a box made from the shared
# golden state, also renews what no two boxes may share: the SSH host key, the machine id and the
# kernel's random pool. Last it sets the clock (it stands where the box was suspended): it asks
# for the time ("time?") only once everything else is done and sets it the moment it arrives, so
# the clock is the host's within the time of one message, however slow the guest. One process,
# because under TCG each program started in the guest costs about 0.1 s.
use strict;
use warnings;

$| = 1;
my %v;
while (my $line = <STDIN>) {
    chomp $line;
    last if $line eq 'clock';
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

print "time?\n";
my $time = <STDIN> // die "no time came\n";
chomp $time;
my ($sec, $usec) = split /\./, $time;
# settimeofday(2) on x86_64: struct timeval is two 64-bit integers
syscall(164, pack('qq', $sec, $usec), 0) == 0 or die "settimeofday: $!\n";

print "ok\n";
