/**
 * A city with 50,000 gazetteer entries (synthetic): the resolver still finds the place, and the time
 * per resolve is printed (not asserted: machines differ; the benchmark tracks it).
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { buildTerritoryResolver } from '../../routing/territory';
import { benchTerritory, syntheticCity } from '../../bench/routing-territory.bench';

describe('territory resolution on a city with 50,000 gazetteer entries', () => {
  const city = syntheticCity({ entries: 50_000 });
  const t0 = performance.now();
  const resolver = buildTerritoryResolver({ territories: city.territories, entries: city.entries, polygons: city.polygons });
  const buildMs = performance.now() - t0;

  it('finds the place of the addresses made from the gazetteer', () => {
    expect(city.entries.length).toBe(50_000);
    let right = 0;
    for (const a of city.addresses) {
      const r = resolver.resolve(a.text, a.point);
      if (r.status === 'resolved' && r.territory && (r.territory.id === a.territoryId || a.territoryId.startsWith(r.territory.id))) right++;
    }
    process.stdout.write(`[territory large] built in ${buildMs.toFixed(0)} ms (${resolver.stats.surfaces} names, ${resolver.stats.polygons} outlines); ${right}/${city.addresses.length} synthetic addresses resolved within their territory\n`);
    expect(right / city.addresses.length).toBeGreaterThan(0.95);
  });

  it('prints the time per resolve and the ratio to bare Map reads', async () => {
    const r = await benchTerritory({ city, resolver, resolves: 20_000 });
    process.stdout.write(`[territory large] ${JSON.stringify(r)}\n`);
    expect(r.resolvesPerSec).toBeGreaterThan(0);
  });
});
