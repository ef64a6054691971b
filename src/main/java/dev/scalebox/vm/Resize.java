package dev.scalebox.vm;

/** New sizes for a restart; null fields keep the VM's current ones. The disk can only grow. */
public record Resize(Integer vcpuCount, Integer memSizeMib, Integer diskSizeGib) {

    public static final Resize NONE = new Resize(null, null, null);
}
