import { createContext } from '../app/context';
import { testConfig } from '../app/config';
import { importCityFromDir } from '../app/city-preset';
import { FixedClock, systemActor } from '../core';
import { benchDatabase, timeIt, fmt, type BenchResult } from './harness';

const PROBLEMS = ['楼道堆满杂物堵住消防通道', '路灯不亮晚上看不见路', '地下室水管漏水积水很深', '楼下饭店油烟扰民', '电梯故障经常困人', '垃圾桶满了三天没人清运', '外墙瓷砖脱落很危险', '小区门禁坏了外人随便进', '井盖松动车过哐哐响', '绿化带被毁改种菜'];
const BUILDINGS = ['QR-990102001001-0001', 'QR-990102001001-0002', 'QR-990102001001-0003', '江景苑1栋', '江景苑2栋', '江景苑5栋', 'QR-990103002002-0001', 'QR-990121100201-0001'];

/**
 * A QR report through the citizen part (code check, limits, duplicate check, report row and audit,
 * no photo) against registering the same ticket straight through intake (channel qr, building code),
 * in the same process on the demo city, alternating rounds. The clock moves 2 minutes a report so
 * the per-code limit is not reached.
 */
export async function benchCitizenReport(kind: 'sqlite' | 'mysql', n: number): Promise<BenchResult> {
  const database = await benchDatabase(kind);
  const clock = new FixedClock(new Date('2025-10-09T02:00:00Z'));
  const ctx = await createContext(testConfig(), { database, clock });
  try {
    await importCityFromDir(ctx, 'cities/demo', { actor: systemActor('demo', 'bench') });
    const tokens = await Promise.all(BUILDINGS.map((code) => ctx.citizen.buildingToken({ cityId: 'demo', code })));
    const text = (i: number) => `${PROBLEMS[i % PROBLEMS.length]}（${BUILDINGS[i % BUILDINGS.length]}，第${i}次）`;
    const viaCitizen = (i: number) => ctx.citizen.submitReport({ token: tokens[i % tokens.length]!, description: text(i), photos: [], idempotencyKey: `bench-${i}-citizen` }, { deviceId: `device-${i}`, ip: `10.${(i >> 8) & 255}.${i & 255}.1` });
    const viaIntake = (i: number) => ctx.intake.createTicket({ actor: systemActor('demo', 'citizen'), idempotencyKey: `bench-${i}-intake` }, { channel: 'qr', type: 'help', title: text(i).slice(0, 30), situation: text(i), addressText: BUILDINGS[i % BUILDINGS.length], buildingCode: BUILDINGS[i % BUILDINGS.length] });
    for (let i = 0; i < 20; i++) {
      await viaCitizen(1_000_000 + i);
      await viaIntake(1_000_000 + i);
    }
    let citizenMs = 0;
    let intakeMs = 0;
    const rounds = 10;
    const per = Math.ceil(n / rounds);
    for (let round = 0; round < rounds; round++) {
      const from = round * per;
      const to = Math.min(n, from + per);
      citizenMs += await timeIt(async () => {
        for (let i = from; i < to; i++) {
          clock.advanceMinutes(2);
          await viaCitizen(i);
        }
      });
      intakeMs += await timeIt(async () => {
        for (let i = from; i < to; i++) await viaIntake(i);
      });
    }
    return {
      name: `citizen QR report vs intake.createTicket (${kind})`,
      reports: n,
      citizenReportsPerSec: fmt((n / citizenMs) * 1000, 0),
      intakeTicketsPerSec: fmt((n / intakeMs) * 1000, 0),
      // What the code check, the limits, the duplicate check and the report row cost on top of registering.
      ratioCitizenToIntake: fmt(citizenMs / intakeMs),
    };
  } finally {
    await ctx.close();
    await database.dispose();
  }
}
