// One VM: its actions (shared with the table), its page, graphs and serial console.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { api, fmt } from './api.js';
import { html, banner, attempt, Graph } from './ui.js';

/** Runs one action on a VM; `update(vm)` / `remove(id)` apply its result. `body` is for restart. */
export async function vmAction(vm, action, { update, remove }, body) {
  const path = `/vms/${encodeURIComponent(vm.id)}`;
  if (action === 'delete') {
    if (!confirm(`Delete VM ${vm.name}? Its disk is removed for good.`)) return;
    if ((await attempt(() => api('DELETE', path))) !== undefined) {
      remove(vm.id);
      banner.notice(`Deleted ${vm.name}`);
    }
    return;
  }
  if (action === 'snapshot') {
    const name = body?.template_name ?? prompt(`Name of the template to make from ${vm.name}'s disk:`, `${vm.name}-snap`);
    if (!name) return;
    const made = await attempt(() => api('POST', `${path}/snapshot`, { template_name: name }));
    if (made) banner.notice(`Made template ${made.template} (${fmt.bytes(made.size_bytes)}) from ${vm.name}`);
    return;
  }
  const result = await attempt(() => api('POST', `${path}/${action}`, action === 'restart' ? body : undefined));
  if (result) update(result);
}

const ACTIONS = ['start', 'stop', 'suspend', 'restart', 'snapshot', 'delete'];

/** The action buttons of a VM, each `data-action=...`; disabled while one of them runs. */
export function VmActions({ vm, ops }) {
  const [busy, setBusy] = useState(null);
  const run = async (action) => {
    setBusy(action);
    try {
      await vmAction(vm, action, ops);
    } finally {
      setBusy(null);
    }
  };
  return html`<span class="actions">
    ${ACTIONS.map(
      (a) => html`<button type="button" data-action=${a} disabled=${busy !== null} class=${busy === a ? 'busy' : ''}
        onClick=${() => run(a)}>${a}</button>`,
    )}
  </span>`;
}

const num = (form, name) => {
  const v = form.elements[name].value.trim();
  return v === '' ? undefined : Number(v);
};

export function VmPage({ id, vm, ops }) {
  useEffect(() => {
    attempt(() => api('GET', `/vms/${encodeURIComponent(id)}`)).then((v) => v && ops.update(v));
  }, [id]);
  if (!vm) return html`<p>Loading VM ${id}…</p>`;
  const restart = async (e) => {
    e.preventDefault();
    const f = e.currentTarget;
    const body = {};
    for (const k of ['vcpu_count', 'mem_size_mib', 'disk_size_gib']) if (num(f, k) !== undefined) body[k] = num(f, k);
    await vmAction(vm, 'restart', ops, Object.keys(body).length ? body : undefined);
  };
  const snapshot = async (e) => {
    e.preventDefault();
    const name = e.currentTarget.elements.template_name.value.trim();
    if (name) await vmAction(vm, 'snapshot', ops, { template_name: name });
  };
  return html`<section id="vm-page" data-vm=${vm.name} data-id=${vm.id}>
    <h2>${vm.name} <small class="state" data-state=${vm.status}>${vm.status}</small></h2>
    ${vm.status_reason && html`<p class="reason">${vm.status_reason}</p>`}
    <${VmActions} vm=${vm} ops=${ops} />
    <dl class="details">
      <dt>ID</dt><dd>${vm.id}</dd>
      <dt>Template</dt><dd>${vm.template}</dd>
      <dt>Size</dt><dd>${vm.vcpu_count} vCPU, ${fmt.mib(vm.mem_size_mib)}, ${vm.disk_size_gib} GiB disk</dd>
      <dt>SSH</dt><dd><code data-test="ssh">${vm.ssh}</code></dd>
      ${vm.url && html`<dt>HTTPS</dt><dd><a href=${vm.url} data-test="url" rel="noopener" target="_blank">${vm.url}</a> → port ${vm.http_port}</dd>`}
      <dt>Address</dt><dd>${vm.ip ?? '–'} ${vm.mac ? `(${vm.mac})` : ''}</dd>
      <dt>Egress</dt><dd>${Array.isArray(vm.egress) ? vm.egress.join(', ') : vm.egress}</dd>
      <dt>Started from</dt><dd>${vm.started_from ?? '–'}</dd>
      <dt>Created</dt><dd>${fmt.time(vm.created_at)}</dd>
      ${vm.ssh_host_key && html`<dt>Host key</dt><dd><code class="key">${vm.ssh_host_key}</code></dd>`}
    </dl>
    <div class="forms">
      <form id="restart-vm" onSubmit=${restart}>
        <b>Restart with new sizes</b>
        <label>vCPUs <input name="vcpu_count" type="number" min="1" placeholder=${vm.vcpu_count} /></label>
        <label>Memory MiB <input name="mem_size_mib" type="number" min="128" placeholder=${vm.mem_size_mib} /></label>
        <label>Disk GiB <input name="disk_size_gib" type="number" min="1" placeholder=${vm.disk_size_gib} /></label>
        <button type="submit">restart</button>
      </form>
      <form id="snapshot-vm" onSubmit=${snapshot}>
        <b>Snapshot to template</b>
        <label>Template name <input name="template_name" required pattern="[a-z0-9]([a-z0-9._]|-){0,62}" /></label>
        <button type="submit">snapshot</button>
      </form>
    </div>
    <${Stats} id=${vm.id} />
    <${Console} id=${vm.id} running=${vm.status === 'running'} />
  </section>`;
}

function Stats({ id }) {
  const [stats, setStats] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      api('GET', `/vms/${encodeURIComponent(id)}/stats`).then(
        (s) => live && (setStats(s), setError(null)),
        (e) => live && e.status !== 401 && setError(e.message),
      );
    load();
    const timer = setInterval(load, 5000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [id]);
  if (error) return html`<p class="stats-error">Stats: ${error}</p>`;
  if (!stats) return null;
  const s = stats.samples.map((p) => ({ ...p, t: Date.parse(p.at) }));
  const series = (key) => s.filter((p) => p[key] != null).map((p) => [p.t, p[key]]);
  const cpu = [];
  for (let i = 1; i < s.length; i++) {
    const dt = (s[i].t - s[i - 1].t) / 1000;
    const dc = s[i].cpu_seconds - s[i - 1].cpu_seconds;
    if (dt > 0 && dc >= 0) cpu.push([s[i].t, (dc / dt) * 100]);
  }
  return html`<div class="graphs" id="stats">
    <${Graph} title="CPU" series=${[{ label: '% of a core', points: cpu }]} format=${(v) => `${v.toFixed(0)}%`} />
    <${Graph} title="Memory" format=${fmt.bytes}
      series=${[{ label: 'guest in use', points: series('guest_memory_bytes') }, { label: 'QEMU RSS', points: series('rss_bytes') }]} />
    <${Graph} title="Disk" series=${[{ label: 'own bytes', points: series('disk_own_bytes') }]} format=${fmt.bytes} />
  </div>`;
}

/** The serial console: an xterm.js terminal on GET /vms/{id}/console/ws. */
function Console({ id, running }) {
  const box = useRef(null);
  const term = useRef(null);
  const [status, setStatus] = useState('connecting');
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const t = new Terminal({ convertEol: false, scrollback: 5000, fontSize: 13, cursorBlink: true });
    const fit = new FitAddon();
    t.loadAddon(fit);
    t.open(box.current);
    fit.fit();
    term.current = t;
    // For the browser tests: the terminal's text, one line per row.
    window.scaleboxConsole = {
      text() {
        const b = t.buffer.active;
        const lines = [];
        for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? '');
        return lines.join('\n');
      },
    };
    const resize = new ResizeObserver(() => fit.fit());
    resize.observe(box.current);
    return () => {
      resize.disconnect();
      t.dispose();
      term.current = null;
      delete window.scaleboxConsole;
    };
  }, [id]);

  // Reconnect when the VM comes to run again.
  const wasRunning = useRef(running);
  useEffect(() => {
    if (running && !wasRunning.current) setGeneration((g) => g + 1);
    wasRunning.current = running;
  }, [running]);

  useEffect(() => {
    const t = term.current;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/vms/${encodeURIComponent(id)}/console/ws`);
    ws.binaryType = 'arraybuffer';
    const encoder = new TextEncoder();
    setStatus('connecting');
    t.reset();
    ws.onopen = () => setStatus('connected');
    ws.onmessage = (e) => t.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
    ws.onclose = (e) => setStatus(`closed${e.reason ? ': ' + e.reason : ` (code ${e.code})`}`);
    const input = t.onData((data) => ws.readyState === WebSocket.OPEN && ws.send(encoder.encode(data)));
    const binary = t.onBinary((data) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff));
    });
    return () => {
      input.dispose();
      binary.dispose();
      ws.onclose = null;
      ws.close(1000, 'page left');
    };
  }, [id, generation]);

  const open = status === 'connected';
  return html`<section class="console">
    <h3>Serial console
      <small id="console-status" data-ws=${open ? 'open' : status === 'connecting' ? 'connecting' : 'closed'}
        class=${open ? '' : 'closed'}>${status}</small>
      ${!open && status !== 'connecting' &&
      html` <button type="button" data-action="reconnect" onClick=${() => setGeneration((g) => g + 1)}>reconnect</button>`}
    </h3>
    <div id="console" ref=${box}></div>
  </section>`;
}
