import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, get } from './api.js';
import { SimilarityExplorer } from './explorers/Similarity.js';
import { TaskonomyExplorer } from './explorers/Taskonomy.js';
import type { Catalog, MeasuresResponse } from './types.js';
import './style.css';

type Tab = 'similarity' | 'taskonomy';

function tabFromHash(): Tab {
  return location.hash === '#taskonomy' ? 'taskonomy' : 'similarity';
}

function App() {
  const [tab, setTab] = useState<Tab>(tabFromHash);
  const [measures, setMeasures] = useState<MeasuresResponse | null>(null);
  const [catalog, setCatalog] = useState<Catalog | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    const c = await get<Catalog>('datasets');
    setCatalog(c);
    return c;
  }, []);

  useEffect(() => {
    Promise.all([get<MeasuresResponse>('measures').then(setMeasures), refresh()]).catch((e) => setError(e instanceof ApiError ? e.message : String(e)));
    const onHash = () => setTab(tabFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  return (
    <>
      <header class="top">
        <h1>taskmap</h1>
        <nav>
          <a href="#similarity" class={tab === 'similarity' ? 'active' : ''} data-tab="similarity">
            Similarity explorer
          </a>
          <a href="#taskonomy" class={tab === 'taskonomy' ? 'active' : ''} data-tab="taskonomy">
            Taskonomy explorer
          </a>
        </nav>
        {catalog && (
          <span class="roots" title="data roots served">
            data: {catalog.roots.map((r) => r.name).join(', ')}
          </span>
        )}
      </header>
      {error && <p class="error">Cannot reach the taskmap API: {error}</p>}
      {measures && catalog ? (
        tab === 'similarity' ? (
          <SimilarityExplorer measures={measures} catalog={catalog} refresh={refresh} />
        ) : (
          <TaskonomyExplorer measures={measures} catalog={catalog} refresh={refresh} />
        )
      ) : (
        !error && <p class="placeholder">Loading…</p>
      )}
    </>
  );
}

render(<App />, document.getElementById('app')!);
