/** The pure parts of territory resolution: normalisation, names, house-number segments, outlines, the resolver's rules. */
import { describe, expect, it } from 'vitest';
import {
  buildTerritoryResolver, characterSegmenter, chineseNumeral, geometryProblems, jiebaSegmenter, normalizeAddress, pointInGeometry, PolygonIndex,
  segmentCovers, segmentsOverlap, stripFiller, type AreaGeometry, type GazetteerEntry, type ResolverTerritory,
} from '../../routing/territory';
import { territoryVariants } from '../../routing/territory/domain/names';

describe('normalising an address', () => {
  it('reads Chinese numerals', () => {
    expect([chineseNumeral('一百二十三'), chineseNumeral('十二'), chineseNumeral('二十'), chineseNumeral('一千零五'), chineseNumeral('一二三'), chineseNumeral('两百'), chineseNumeral('十')]).toEqual([123, 12, 20, 1005, 123, 200, 10]);
    expect(chineseNumeral('二三百')).toBeNull();
    expect(chineseNumeral('东')).toBeNull();
  });

  it('turns full-width digits, spacing and numerals before 号/栋 into one form', () => {
    expect(normalizeAddress('白龙南路１２３号')).toBe('白龙南路123号');
    expect(normalizeAddress('白龙 南路　一百二十三号 三栋 二单元')).toBe('白龙南路123号3栋2单元');
    expect(normalizeAddress('ｑｒ-990102001001-0003')).toBe('QR-990102001001-0003');
    // Numerals that are part of a name stay: 第一网格, 五一路, 十字路口.
    expect(normalizeAddress('滨江社区第一网格五一路十字路口')).toBe('滨江社区第一网格五一路十字路口');
    expect(normalizeAddress(null)).toBe('');
  });

  it('drops filler words from the address shown back', () => {
    expect(stripFiller(normalizeAddress('美兰区白龙南路XX小区3栋楼下'))).toBe('美兰区白龙南路XX小区3栋');
    expect(stripFiller('第一人民医院对面')).toBe('第一人民医院');
  });
});

describe('names of territories', () => {
  it('gives the suffix variants people use', () => {
    const street = territoryVariants('滨江街道', 'street').map((v) => v.surface);
    expect(street).toEqual(expect.arrayContaining(['滨江街道', '滨江街道办事处', '滨江镇', '滨江办事处', '滨江']));
    const district = territoryVariants('美兰区', 'district');
    expect(district.find((v) => v.surface === '美兰')).toMatchObject({ bare: true });
    expect(district.map((v) => v.surface)).toEqual(expect.arrayContaining(['美兰区', '美兰县', '美兰市']));
    const village = territoryVariants('王家庄村', 'community').find((v) => v.surface === '王家庄');
    expect(village).toMatchObject({ bare: true, village: true });
    expect(territoryVariants('滨江社区第一网格', 'grid').map((v) => v.surface)).toEqual(['滨江社区第一网格', '滨江第一网格']);
  });
});

describe('house-number segments', () => {
  const seg = (numberFrom: number | null, numberTo: number | null, parity: 'all' | 'odd' | 'even') => ({ numberFrom, numberTo, parity });
  it('covers a number by range and side', () => {
    expect(segmentCovers(seg(1, 99, 'all'), 50)).toBe(true);
    expect(segmentCovers(seg(1, 99, 'odd'), 50)).toBe(false);
    expect(segmentCovers(seg(100, null, 'even'), 1000)).toBe(true);
    expect(segmentCovers(seg(null, null, 'all'), 7)).toBe(true);
  });
  it('knows when two segments claim the same number', () => {
    expect(segmentsOverlap(seg(1, 99, 'odd'), seg(2, 98, 'even'))).toBe(false);
    expect(segmentsOverlap(seg(1, 99, 'all'), seg(51, 120, 'odd'))).toBe(true);
    expect(segmentsOverlap(seg(1, 99, 'all'), seg(100, 200, 'all'))).toBe(false);
    expect(segmentsOverlap(seg(2, 2, 'all'), seg(1, 3, 'odd'))).toBe(false);
  });
});

describe('outlines', () => {
  const square: AreaGeometry = { type: 'Polygon', coordinates: [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]] };
  const multi: AreaGeometry = { type: 'MultiPolygon', coordinates: [[[[20, 0], [21, 0], [21, 1], [20, 1], [20, 0]]], [[[30, 0], [31, 0], [31, 1], [30, 1], [30, 0]]]] };

  it('tells inside from outside by ray casting, holes and all (lat, lng order; GeoJSON is [lng, lat])', () => {
    expect(pointInGeometry(2, 2, square)).toBe(true);
    expect(pointInGeometry(5, 5, square)).toBe(false); // in the hole
    expect(pointInGeometry(11, 5, square)).toBe(false);
    expect(pointInGeometry(0.5, 30.5, multi)).toBe(true);
    expect(pointInGeometry(0.5, 25, multi)).toBe(false);
  });

  it('answers with the most specific outline first', () => {
    const index = new PolygonIndex([
      { geometry: { type: 'Polygon', coordinates: [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]] }, value: { id: 'community', depth: 3 } },
      { geometry: { type: 'Polygon', coordinates: [[[0, 0], [5, 0], [5, 5], [0, 5], [0, 0]]] }, value: { id: 'grid', depth: 4 } },
    ]);
    expect(index.containing(1, 1).map((v) => v.id)).toEqual(['grid', 'community']);
    expect(index.containing(8, 8).map((v) => v.id)).toEqual(['community']);
    expect(index.containing(20, 20)).toEqual([]);
  });

  it('checks a geometry for a preset', () => {
    expect(geometryProblems(square)).toEqual([]);
    expect(geometryProblems({ type: 'Point', coordinates: [1, 2] })[0].path).toEqual(['type']);
    expect(geometryProblems({ type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] })[0].message).toContain('closed');
    expect(geometryProblems({ type: 'Polygon', coordinates: [[[0, 0], [1, 0], [0, 0]]] })[0].message).toContain('at least 4');
    expect(geometryProblems({ type: 'Polygon', coordinates: [[[0, 100], [1, 0], [1, 1], [0, 100]]] })[0].path).toEqual(['coordinates', 0, 0]);
    expect(geometryProblems(null)).toHaveLength(1);
  });
});

describe('the resolver rules (a small city)', () => {
  const T = (id: string, name: string, level: ResolverTerritory['level'], parentId: string | null): ResolverTerritory => ({ id, code: id, name, level, parentId });
  const territories = [
    T('D1', '美兰区', 'district', null), T('D2', '龙华区', 'district', null),
    T('S1', '白龙街道', 'street', 'D1'), T('S2', '海府街道', 'street', 'D1'), T('S3', '金贸街道', 'street', 'D2'),
    T('C1', '白龙社区', 'community', 'S1'), T('C2', '和平社区', 'community', 'S1'), T('C3', '海府社区', 'community', 'S2'), T('C4', '金贸社区', 'community', 'S3'),
  ];
  const e = (x: Partial<GazetteerEntry> & Pick<GazetteerEntry, 'kind' | 'name' | 'territoryId'>): GazetteerEntry => ({ aliases: [], numberFrom: null, numberTo: null, parity: 'all', lat: null, lng: null, ...x });
  const entries = [
    e({ kind: 'road', name: '白龙南路', territoryId: 'C1', numberFrom: 1, numberTo: 99 }),
    e({ kind: 'road', name: '白龙南路', territoryId: 'C3', numberFrom: 100, numberTo: 300 }),
    e({ kind: 'compound', name: '椰海花园', territoryId: 'C2' }),
    e({ kind: 'compound', name: '椰海花园', territoryId: 'C4' }),
    e({ kind: 'landmark', name: '海府医院', territoryId: 'C3', aliases: ['海府人民医院'] }),
  ];
  const resolver = buildTerritoryResolver({ territories, entries }, { segmenter: characterSegmenter });

  it('the brief example: 美兰区白龙南路XX小区3栋楼下', () => {
    const r = resolver.resolve('美兰区白龙南路XX小区3栋楼下');
    // No house number, the road runs through two streets of 美兰区: the district is sure, the street is not.
    expect(r).toMatchObject({ status: 'ambiguous', territory: { id: 'D1' } });
    expect(r.alternatives.map((a) => a.territory.id).sort()).toEqual(['C1', 'C3']);
    expect(r.normalized).toBe('美兰区白龙南路XX小区3栋');
  });

  it('a house number outside every segment keeps all segments, less surely', () => {
    const r = resolver.resolve('白龙南路999号');
    expect(r.mentions[0]).toMatchObject({ kind: 'road', houseNumber: 999, candidates: ['C1', 'C3'] });
    expect(r.mentions[0].weight).toBeLessThan(resolver.resolve('白龙南路12号').mentions[0].weight);
  });

  it('two clues that meet settle it: a road and a landmark', () => {
    const r = resolver.resolve('白龙南路海府医院门口');
    expect(r).toMatchObject({ status: 'resolved', territory: { id: 'C3' } });
  });

  it('a district picks between same-name compounds, and a wrong district makes it ambiguous', () => {
    expect(resolver.resolve('龙华区椰海花园').territory?.id).toBe('C4');
    expect(resolver.resolve('美兰区椰海花园').territory?.id).toBe('C2');
    expect(resolver.resolve('椰海花园')).toMatchObject({ status: 'ambiguous', territory: null });
  });

  it('a street said by another suffix (白龙镇, 白龙街道办事处) is the same street', () => {
    expect(resolver.resolve('白龙镇').territory?.id).toBe('S1');
    expect(resolver.resolve('白龙街道办事处').territory?.id).toBe('S1');
  });
});

describe('bare names with jieba', () => {
  const territories: ResolverTerritory[] = [
    { id: 'D', code: null, name: 'A3区', level: 'district', parentId: null },
    { id: 'S1', code: null, name: '洋湖街道', level: 'street', parentId: 'D' },
    { id: 'S2', code: null, name: '黄花镇', level: 'street', parentId: 'D' },
    { id: 'S3', code: null, name: '路口镇', level: 'street', parentId: 'D' },
  ];
  const resolver = buildTerritoryResolver({ territories, entries: [] }, { segmenter: jiebaSegmenter() });

  it('a proper name said bare is a mention (洋湖); a common word is not (黄花 the flower, 路口 a crossing)', () => {
    expect(resolver.resolve('潇楚南路洋湖段怎么还没修好').territory?.id).toBe('S1');
    expect(resolver.resolve('家里种的黄花开了').status).toBe('unresolved');
    expect(resolver.resolve('前面路口红绿灯坏了').status).toBe('unresolved');
    expect(resolver.resolve('黄花镇政府门口').territory?.id).toBe('S2');
  });

  it('keeps place names whole in its segmentation', () => {
    expect(jiebaSegmenter().cut('A3区洋湖街道潇楚南路')).toEqual(expect.arrayContaining(['A3区', '洋湖街道']));
  });
});
