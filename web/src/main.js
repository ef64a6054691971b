// The Scalebox console: sign-in, host figures, the live VM table and the create form; hash routes
// #/ , #/vms/{id}, #/templates, #/boxes, #/users.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, subscribe, whenUnauthorized, fmt } from './api.js';
import { html, banner, attempt } from './ui.js';
import { VmActions, VmPage } from './vm.js';
import { TemplatesPage, BoxesPage, UsersPage } from './pages.js';
import './style.css';

function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const vm = hash.match(/^\/vms\/([^/]+)$/);
  if (vm) return { page: 'vm', id: decodeURIComponent(vm[1]) };
  return { page: { '/templates': 'templates', '/boxes': 'boxes', '/users': 'users' }[hash] || 'home' };
}

function SignIn() {
  const submit = async (e) => {
    e.preventDefault();
    const input = e.currentTarget.elements.token;
    const token = input.value; // read, sent, and cleared: never kept
    input.value = '';
    try {
      await api('POST', '/session', { token }, { quiet401: true });
      banner.clear();
      signedIn(true);
    } catch (err) {
      banner.error(err.message);
    }
  };
  return html`<form id="signin" onSubmit=${submit}>
    <h2>Sign in</h2>
    <label>API token <input name="token" type="password" autocomplete="current-password" required autofocus /></label>
    <button type="submit" data-action="signin">sign in</button>
  </form>`;
}

function Host({ info }) {
  if (!info) return null;
  const { cpu, memory, storage, starts, counts } = info;
  return html`<section id="host">
    <h2>Host <small>Scalebox ${info.version}</small></h2>
    <dl class="figures">
      ${cpu && html`<div><dt>CPU</dt><dd data-test="cores">${cpu.cores} cores</dd><dd><small>${cpu.model}</small></dd></div>`}
      <div><dt>Accelerator</dt><dd data-test="accelerator">${info.accelerator}</dd></div>
      ${memory && html`<div><dt>Memory</dt><dd>${fmt.mib(memory.available_mib)} free of ${fmt.mib(memory.total_mib)}</dd></div>`}
      ${storage &&
      html`<div><dt>Storage</dt><dd>${storage.free_gb} GB free of ${storage.total_gb} GB</dd>
        <dd><small>${storage.filesystem}, ${storage.used_gb} GB used,
          ${storage.reflink ? 'clones by reflink' : 'no reflink: disks are copied in full'}</small></dd></div>`}
      ${starts &&
      html`<div><dt>Start queue</dt><dd>${starts.in_flight} starting, ${starts.queued} queued</dd>
        <dd><small>${starts.cost_in_flight} of ${starts.max_concurrent} cores busy</small></dd></div>`}
      ${counts &&
      html`<div><dt>VMs</dt><dd>${counts.vms} VMs, ${counts.templates} templates</dd>
        <dd><small>${Object.entries(counts.vms_by_status || {}).map(([k, v]) => `${v} ${k}`).join(', ')}</small></dd></div>`}
    </dl>
    ${info.orphans?.length > 0 && html`<p class="reason">Orphans (owned by no record): ${info.orphans.join(', ')}</p>`}
  </section>`;
}

function VmTable({ vms, loaded, ops }) {
  return html`<table id="vm-table" data-loaded=${loaded ? 'true' : 'false'}>
    <thead><tr><th>Name</th><th>State</th><th>Template</th><th>vCPUs</th><th>Memory</th><th>Disk</th><th>SSH</th><th>Actions</th></tr></thead>
    <tbody>
      ${vms.map(
        (vm) => html`<tr key=${vm.id} data-vm=${vm.name} data-id=${vm.id}>
          <td><a href=${`#/vms/${vm.id}`}>${vm.name}</a></td>
          <td class="state" data-state=${vm.status} title=${vm.status_reason || ''}>${vm.status}</td>
          <td>${vm.template}</td>
          <td>${vm.vcpu_count}</td>
          <td>${fmt.mib(vm.mem_size_mib)}</td>
          <td>${vm.disk_size_gib} GiB</td>
          <td><code>${vm.ssh}</code>${vm.status_reason ? html`<br /><small class="reason">${vm.status_reason}</small>` : ''}</td>
          <td><${VmActions} vm=${vm} ops=${ops} /></td>
        </tr>`,
      )}
    </tbody>
  </table>
  ${loaded && !vms.length && html`<p>No VMs yet.</p>`}`;
}

function CreateVm({ templates, ops }) {
  const [busy, setBusy] = useState(false);
  const [users, setUsers] = useState([]);
  useEffect(() => {
    // The gateway's users, whose keys may be picked; a server without the gateway has none.
    api('GET', '/users').then(setUsers, () => setUsers([]));
  }, []);
  const pick = (e) => {
    const user = users.find((u) => u.id === e.currentTarget.value);
    if (user) e.currentTarget.form.elements.ssh_public_key.value = user.ssh_public_key;
  };
  const submit = async (e) => {
    e.preventDefault();
    const f = e.currentTarget;
    const body = { template: f.elements.template.value, ssh_public_key: f.elements.ssh_public_key.value.trim() };
    const name = f.elements.name.value.trim();
    if (name) body.name = name;
    for (const k of ['vcpu_count', 'mem_size_mib', 'disk_size_gib']) {
      const v = f.elements[k].value.trim();
      if (v !== '') body[k] = Number(v);
    }
    setBusy(true);
    const vm = await attempt(() => api('POST', '/vms', body));
    setBusy(false);
    if (vm) {
      ops.update(vm);
      banner.notice(`Created ${vm.name}: ${vm.status}${vm.status_reason ? ` (${vm.status_reason})` : ''}`);
      f.elements.name.value = '';
    }
  };
  return html`<form id="create-vm" onSubmit=${submit}>
    <h3>Create a VM</h3>
    <label>Name <input name="name" placeholder="generated if empty" pattern="[a-z0-9]([a-z0-9._]|-){0,62}" /></label>
    <label>Template <select name="template" required>
      ${templates.map((t) => html`<option value=${t.name} selected=${t.protected}>${t.name}</option>`)}
    </select></label>
    <label>vCPUs <input name="vcpu_count" type="number" min="1" placeholder="default" /></label>
    <label>Memory MiB <input name="mem_size_mib" type="number" min="128" placeholder="default" /></label>
    <label>Disk GiB <input name="disk_size_gib" type="number" min="1" placeholder="default" /></label>
    <label class="wide">SSH public key <textarea name="ssh_public_key" required rows="3" placeholder="ssh-ed25519 AAAA… you@host"></textarea></label>
    ${users.length > 0 && html`<label>or a user's key <select name="user_key" onChange=${pick}>
      <option value="">pick a user…</option>
      ${users.map((u) => html`<option value=${u.id}>${u.name} (${u.fingerprint})</option>`)}
    </select></label>`}
    <button type="submit" data-action="create" disabled=${busy}>${busy ? 'creating…' : 'create'}</button>
  </form>`;
}

let signedIn = () => {};

function App() {
  const [session, setSession] = useState(null); // null: checking; false: signed out; true: signed in
  const [message, setMessage] = useState(null);
  const [where, setWhere] = useState(route());
  const [vms, setVms] = useState(new Map());
  const [loaded, setLoaded] = useState(false);
  const [templates, setTemplates] = useState([]);
  const [info, setInfo] = useState(null);
  const [boxVersion, setBoxVersion] = useState(0);
  const pending = useRef(null); // events that came while the list was loading

  signedIn = setSession;
  banner.bind(setMessage);

  useEffect(() => {
    const onHash = () => setWhere(route());
    addEventListener('hashchange', onHash);
    whenUnauthorized((text) => {
      setSession(false);
      setMessage({ kind: 'error', text });
    });
    api('GET', '/session', undefined, { quiet401: true }).then(
      () => setSession(true),
      (e) => {
        setSession(false);
        if (e.status !== 401 && e.status !== 404) banner.error(e.message);
      },
    );
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const ops = {
    update: (vm) => {
      if (pending.current) pending.current.push(['vm', vm]);
      setVms((m) => new Map(m).set(vm.id, vm));
    },
    remove: (id) => {
      if (pending.current) pending.current.push(['vm_deleted', { id }]);
      setVms((m) => {
        const n = new Map(m);
        n.delete(id);
        return n;
      });
    },
  };

  const loadVms = async () => {
    pending.current = [];
    const list = await attempt(() => api('GET', '/vms'));
    const during = pending.current;
    pending.current = null;
    if (!list) return;
    const m = new Map(list.map((vm) => [vm.id, vm]));
    for (const [type, data] of during) type === 'vm' ? m.set(data.id, data) : m.delete(data.id);
    setVms(m);
    setLoaded(true);
  };
  const loadTemplates = () => attempt(() => api('GET', '/templates')).then((t) => t && setTemplates(t));
  const loadInfo = () => attempt(() => api('GET', '/info')).then((i) => i && setInfo(i));

  useEffect(() => {
    if (!session) return undefined;
    loadVms();
    loadTemplates();
    loadInfo();
    let first = true;
    const close = subscribe({
      open: () => (first ? (first = false) : loadVms()),
      vm: ops.update,
      vm_deleted: (d) => ops.remove(d.id),
      box: () => setBoxVersion((v) => v + 1),
      error: banner.error,
    });
    const timer = setInterval(loadInfo, 10000);
    return () => {
      close();
      clearInterval(timer);
    };
  }, [session]);

  const signOut = async () => {
    await attempt(() => api('DELETE', '/session'));
    setSession(false);
    setVms(new Map());
    setLoaded(false);
    banner.clear();
  };

  const list = [...vms.values()].sort((a, b) => (a.created_at || '').localeCompare(b.created_at || '') || a.name.localeCompare(b.name));
  const nav = (href, label, page) => html`<a href=${href} class=${where.page === page ? 'current' : ''}>${label}</a>`;
  let body;
  if (session === null) body = html`<p>Loading…</p>`;
  else if (!session) body = html`<${SignIn} />`;
  else if (where.page === 'vm') body = html`<${VmPage} key=${where.id} id=${where.id} ops=${ops}
      vm=${vms.get(where.id) || list.find((v) => v.name === where.id)} />`;
  else if (where.page === 'templates') body = html`<${TemplatesPage} version=${0} onChange=${loadTemplates} />`;
  else if (where.page === 'boxes') body = html`<${BoxesPage} version=${boxVersion} />`;
  else if (where.page === 'users') body = html`<${UsersPage} />`;
  else
    body = html`<${Host} info=${info} />
      <section id="vms"><h2>VMs</h2><${VmTable} vms=${list} loaded=${loaded} ops=${ops} /></section>
      <${CreateVm} templates=${templates} ops=${ops} />`;

  return html`<header>
      <h1><a href="#/">Scalebox</a></h1>
      ${session &&
      html`<nav>${nav('#/', 'VMs', 'home')} ${nav('#/templates', 'Templates', 'templates')} ${nav('#/boxes', 'Boxes', 'boxes')}
        ${nav('#/users', 'Users', 'users')}</nav>
        <button type="button" id="signout" data-action="signout" onClick=${signOut}>sign out</button>`}
    </header>
    ${message &&
    html`<div id=${message.kind} role=${message.kind === 'error' ? 'alert' : 'status'} class="banner">
      <span class="text">${message.text}</span>
      <button type="button" aria-label="dismiss" data-action="dismiss" onClick=${() => setMessage(null)}>×</button>
    </div>`}
    <main>${body}</main>`;
}

render(html`<${App} />`, document.getElementById('app'));
