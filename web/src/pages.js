// The list pages: templates, boxes, users.
import { useEffect, useState } from 'preact/hooks';
import { api, fmt } from './api.js';
import { html, banner, attempt } from './ui.js';

/** Loads `path` now and whenever `version` changes; returns [data, reload]. */
function useList(path, version) {
  const [data, setData] = useState(null);
  const load = () => attempt(() => api('GET', path)).then((d) => d !== undefined && setData(d));
  useEffect(() => {
    load();
  }, [path, version]);
  return [data, load];
}

export function TemplatesPage({ version, onChange }) {
  const [templates, reload] = useList('/templates', version);
  const remove = async (t) => {
    if (!confirm(`Remove template ${t.name}?`)) return;
    if ((await attempt(() => api('DELETE', `/templates/${encodeURIComponent(t.name)}`))) !== undefined) {
      banner.notice(`Removed template ${t.name}`);
      reload();
      onChange?.();
    }
  };
  return html`<section>
    <h2>Templates</h2>
    <table id="template-table">
      <thead><tr><th>Name</th><th>Origin</th><th>Size</th><th>Created</th><th>Memory snapshots</th><th></th></tr></thead>
      <tbody>
        ${(templates || []).map(
          (t) => html`<tr data-template=${t.name}>
            <td>${t.name}${t.protected ? html` <small>(protected)</small>` : ''}</td>
            <td>${t.origin}</td>
            <td>${fmt.bytes(t.size_bytes)}</td>
            <td>${fmt.time(t.created_at)}</td>
            <td>${(t.snapshots || []).map(
              (s) => html`<div class="snap" title=${s.reason || ''}>
                ${s.vcpu_count} vCPU / ${fmt.mib(s.mem_size_mib)}: ${s.state}${s.reason ? ` (${s.reason})` : ''}
                ${s.last_used ? html` <small>used ${fmt.time(s.last_used)}</small>` : ''}</div>`,
            )}</td>
            <td>${!t.protected &&
            html`<button type="button" data-action="delete-template" onClick=${() => remove(t)}>remove</button>`}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

/** The box pool's levels (GET /pool): ready volumes and warm instances against their targets. */
function Pool({ version }) {
  const [pool] = useList('/pool', version);
  if (!pool) return null;
  const { volumes, instances } = pool;
  return html`<table id="pool-table">
    <thead><tr><th>Pool</th><th>Ready</th><th>Being made</th><th>In use</th><th>Target</th><th>Min / max free</th></tr></thead>
    <tbody>
      <tr><td>Volumes</td><td>${volumes.ready}</td><td>${volumes.making}</td><td>${volumes.in_use}</td>
        <td>${volumes.target}</td><td>${volumes.min_free} / ${volumes.max_free}</td></tr>
      <tr><td>Warm instances</td><td>${instances.warm}</td><td>–</td><td>–</td>
        <td>${instances.target}</td><td>${instances.min_free} / ${instances.max_free}</td></tr>
    </tbody>
  </table>
  <p><small>Golden state: ${pool.golden}; at most ${pool.max_boxes} boxes.</small></p>`;
}

export function BoxesPage({ version }) {
  const [boxes] = useList('/boxes', version);
  return html`<section>
    <h2>Boxes</h2>
    <${Pool} version=${version} />
    <table id="box-table">
      <thead><tr><th>ID</th><th>User</th><th>VM</th><th>State</th><th>Disk</th><th>Created</th></tr></thead>
      <tbody>
        ${(boxes || []).map(
          (b) => html`<tr data-box=${b.id}>
            <td><code>${b.id}</code></td>
            <td>${b.user ?? html`<i>removed</i>`}</td>
            <td><a href=${`#/vms/${b.vm_id}`}>${b.vm_id}</a></td>
            <td class="state" title=${b.status_reason || ''}>${b.status}${b.status_reason ? html` <small>${b.status_reason}</small>` : ''}</td>
            <td>${b.disk_size_gib} GiB</td>
            <td>${fmt.time(b.created_at)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${boxes && !boxes.length && html`<p>No boxes.</p>`}
  </section>`;
}

export function UsersPage() {
  const [users, reload] = useList('/users', 0);
  const add = async (e) => {
    e.preventDefault();
    const f = e.currentTarget;
    const body = { name: f.elements.name.value.trim(), ssh_public_key: f.elements.ssh_public_key.value.trim() };
    const user = await attempt(() => api('POST', '/users', body));
    if (user) {
      banner.notice(`Added user ${user.name} (${user.fingerprint})`);
      f.reset();
      reload();
    }
  };
  const remove = async (u) => {
    if (!confirm(`Remove user ${u.name}? Their box stays.`)) return;
    if ((await attempt(() => api('DELETE', `/users/${encodeURIComponent(u.name)}`))) !== undefined) reload();
  };
  return html`<section>
    <h2>Users</h2>
    <table id="user-table">
      <thead><tr><th>Name</th><th>ID</th><th>Key fingerprint</th><th>Added</th><th></th></tr></thead>
      <tbody>
        ${(users || []).map(
          (u) => html`<tr data-user=${u.name}>
            <td>${u.name}</td><td><code>${u.id}</code></td><td><code>${u.fingerprint}</code></td>
            <td>${fmt.time(u.created_at)}</td>
            <td><button type="button" data-action="remove-user" onClick=${() => remove(u)}>remove</button></td>
          </tr>`,
        )}
      </tbody>
    </table>
    <form id="add-user" onSubmit=${add}>
      <h3>Add a user</h3>
      <label>Name <input name="name" required pattern="[a-z0-9]([a-z0-9._]|-){0,62}" /></label>
      <label>SSH public key <textarea name="ssh_public_key" required rows="3" placeholder="ssh-ed25519 AAAA… user@host"></textarea></label>
      <button type="submit" data-action="add-user">add</button>
    </form>
  </section>`;
}
