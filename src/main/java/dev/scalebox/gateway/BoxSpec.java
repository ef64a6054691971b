package dev.scalebox.gateway;

/** What every box is made of: its template, and the vCPUs and memory it (and its golden state) run with. */
record BoxSpec(String template, int vcpus, int memMib) {
}
