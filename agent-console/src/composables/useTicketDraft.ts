/**
 * The ticket an agent is building during a call (登记工单): the six elements (六要素), the routing
 * plan that follows them, and the commands — save (暂存), save and dispatch (派单), answer on the
 * spot (即办), link or merge with a duplicate. The API stays the authority: the client mirrors its
 * checks only to say early what is missing.
 */
import { computed, reactive, ref, shallowRef, type InjectionKey } from 'vue';
import { ApiError } from '../api/http';
import { changedPlanOf, routingApi } from '../api/routing';
import { smsApi } from '../api/sms';
import { ticketsApi } from '../api/tickets';
import type { Channel, KnowledgeHit, NewTicket, RoutePlan, SixElement, TerritoryResolution, Ticket, TicketType, Urgency } from '../api/types';
import { currentLocale, t } from '../i18n';
import { directory } from '../stores/directory';
import { ticketsStore } from '../stores/tickets';
import { toChinaIso } from './format';
import { debounce } from './useLoader';

export const SIX_ELEMENTS: SixElement[] = ['occurredAt', 'place', 'parties', 'situation', 'demand', 'handlingUnit'];

/** The API accepts an occurrence time at most 10 minutes ahead of its clock. */
const MAX_FUTURE_MS = 10 * 60_000;
const PHONE = /^[0-9+\-\s()]{3,32}$/;

export interface DraftFields {
  channel: Channel;
  callerPhone: string;
  citizenName: string;
  confidential: boolean;
  type: TicketType | null;
  urgency: Urgency;
  occurredAt: string | null;
  addressText: string;
  /** Set when the address resolved or the agent picked one of its alternatives. */
  territoryId: string | null;
  parties: string;
  situation: string;
  demand: string;
  title: string;
  categoryId: string | null;
  callId: string | null;
  /** A citizen's text being registered (短信受理): saved through the SMS API so that the text is linked. */
  smsInboundId?: string | null;
}

function emptyFields(prefill: Partial<DraftFields> = {}): DraftFields {
  return {
    channel: 'phone', callerPhone: '', citizenName: '', confidential: false, type: null, urgency: 'normal',
    occurredAt: toChinaIso(new Date()), addressText: '', territoryId: null, parties: '', situation: '', demand: '', title: '',
    categoryId: null, callId: null, smsInboundId: null, ...prefill,
  };
}

/** FNV-1a, for idempotency keys that change when the request does. */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

export type DraftProblem = { field: keyof DraftFields | 'handlingUnit' | 'overrideReason'; message: string };

export function useTicketDraft() {
  const fields = reactive(emptyFields());
  const draftId = ref(crypto.randomUUID?.() ?? String(Date.now()));
  /** The ticket once saved: later saves edit it (PATCH with its version). */
  const saved = shallowRef<Ticket | null>(null);
  const touched = reactive({ type: false, urgency: false });

  const plan = shallowRef<RoutePlan | null>(null);
  const planKey = ref('');
  const planLoading = ref(false);
  const planError = shallowRef<unknown>(null);

  const resolution = shallowRef<TerritoryResolution | null>(null);
  const resolving = ref(false);
  const resolveError = shallowRef<unknown>(null);
  /** The agent picked an alternative: the resolver no longer overrides it. */
  const territoryPicked = ref(false);

  /** Another unit than the plan's (改派), with the reason the API requires. */
  const chosenUnitId = ref<string | null>(null);
  const overrideReason = ref('');

  const busy = ref<false | 'save' | 'dispatch' | 'answer' | 'link'>(false);
  const error = shallowRef<unknown>(null);
  const problems = ref<DraftProblem[]>([]);
  const attempted = ref(false);

  // --- what the plan and the dispatch will see ------------------------------------------------
  const text = computed(() => [fields.situation.trim(), fields.demand.trim()].filter(Boolean).join('\n'));
  /** The title the ticket is saved with (the start of the situation when none is typed): the plan must see the same. */
  const title = computed(() => fields.title.trim() || (fields.situation.trim() ? fields.situation.trim().slice(0, 40) : '') || null);
  const categoryCode = computed(() => directory.category(fields.categoryId)?.code ?? null);
  const planRequest = computed(() => ({
    text: text.value,
    title: title.value,
    // Until the agent chooses them, type and urgency are the plan's to suggest.
    type: touched.type ? fields.type : null,
    urgency: touched.urgency ? fields.urgency : null,
    categoryCode: categoryCode.value,
    territoryId: fields.territoryId,
    address: fields.territoryId ? null : fields.addressText.trim() || null,
  }));
  const currentPlanKey = computed(() => JSON.stringify(planRequest.value));
  const planStale = computed(() => !plan.value || planKey.value !== currentPlanKey.value);

  const planUnitId = computed(() => plan.value?.leadUnit?.id ?? null);
  const handlingUnitId = computed(() => chosenUnitId.value ?? planUnitId.value);
  const overridden = computed(() => !!chosenUnitId.value && !!planUnitId.value && chosenUnitId.value !== planUnitId.value);

  const missing = computed<SixElement[]>(() => {
    const m: SixElement[] = [];
    if (!fields.occurredAt) m.push('occurredAt');
    if (!fields.addressText.trim() && !fields.territoryId) m.push('place');
    if (!fields.parties.trim()) m.push('parties');
    if (!fields.situation.trim()) m.push('situation');
    if (!fields.demand.trim()) m.push('demand');
    if (!handlingUnitId.value) m.push('handlingUnit');
    return m;
  });

  // --- plan --------------------------------------------------------------------------------
  let planSeq = 0;
  async function requestPlan(): Promise<RoutePlan | null> {
    if (!text.value && !fields.title.trim()) {
      planError.value = null;
      return plan.value;
    }
    const key = currentPlanKey.value;
    const mine = ++planSeq;
    planLoading.value = true;
    try {
      const p = await routingApi.plan(planRequest.value);
      if (mine !== planSeq) return plan.value;
      plan.value = p;
      planKey.value = key;
      planError.value = null;
      // The plan's type and urgency stand until the agent chooses their own.
      if (!touched.type && p.type) fields.type = p.type;
      if (!touched.urgency && p.urgency) fields.urgency = p.urgency;
      // Adopting the plan's own type and urgency does not make it stale.
      planKey.value = currentPlanKey.value;
      return p;
    } catch (e) {
      if (mine === planSeq) planError.value = e;
      return null;
    } finally {
      if (mine === planSeq) planLoading.value = false;
    }
  }
  const planSoon = debounce(() => void requestPlan(), 900);

  // --- address -------------------------------------------------------------------------------
  let resolveSeq = 0;
  async function resolveAddress() {
    const address = fields.addressText.trim();
    if (address.length < 2) {
      resolution.value = null;
      if (!territoryPicked.value) fields.territoryId = null;
      return;
    }
    const mine = ++resolveSeq;
    resolving.value = true;
    try {
      const r = await routingApi.resolveAddress(address);
      if (mine !== resolveSeq) return;
      resolution.value = r;
      resolveError.value = null;
      if (!territoryPicked.value) fields.territoryId = r.status === 'resolved' ? r.territory?.id ?? null : null;
      if (fields.territoryId) void directory.loadTerritory(fields.territoryId);
    } catch (e) {
      if (mine === resolveSeq) resolveError.value = e;
    } finally {
      if (mine === resolveSeq) resolving.value = false;
    }
  }
  const resolveSoon = debounce(() => void resolveAddress(), 450);
  function onAddressInput() {
    territoryPicked.value = false;
    resolveSoon();
  }
  function pickTerritory(id: string) {
    territoryPicked.value = true;
    fields.territoryId = id;
    void directory.loadTerritory(id);
    planSoon();
  }

  // --- validation (mirrors the API's; the API decides) ------------------------------------------
  function check(forDispatch: boolean): DraftProblem[] {
    const out: DraftProblem[] = [];
    if (fields.callerPhone.trim() && !PHONE.test(fields.callerPhone.trim())) out.push({ field: 'callerPhone', message: t('agent.errors.phone') });
    if (!fields.type) out.push({ field: 'type', message: t('agent.errors.type') });
    if (fields.occurredAt && Date.parse(fields.occurredAt) > Date.now() + MAX_FUTURE_MS) out.push({ field: 'occurredAt', message: t('agent.errors.future') });
    if (forDispatch) {
      const fieldOf: Record<SixElement, DraftProblem['field']> = {
        occurredAt: 'occurredAt', place: 'addressText', parties: 'parties', situation: 'situation', demand: 'demand', handlingUnit: 'handlingUnit',
      };
      for (const m of missing.value) out.push({ field: fieldOf[m], message: t('agent.errors.missing', { name: t(`common.six.${m}`) }) });
      if (overridden.value && !overrideReason.value.trim()) out.push({ field: 'overrideReason', message: t('agent.errors.overrideReason') });
    }
    return out;
  }

  // --- commands ------------------------------------------------------------------------------
  function body(): NewTicket {
    const s = (v: string) => v.trim() || null;
    return {
      channel: fields.channel,
      type: fields.type ?? 'consultation',
      urgency: fields.urgency,
      callerPhone: s(fields.callerPhone),
      callId: fields.callId,
      citizenName: s(fields.citizenName),
      confidential: fields.confidential,
      title: title.value,
      occurredAt: fields.occurredAt,
      addressText: s(fields.addressText),
      territoryId: fields.territoryId,
      parties: s(fields.parties),
      situation: s(fields.situation),
      demand: s(fields.demand),
      categoryId: fields.categoryId,
    };
  }

  /** Creates the ticket, or brings the saved one up to date. */
  async function persist(): Promise<Ticket> {
    const b = body();
    if (!saved.value && fields.smsInboundId) {
      // A citizen's text: the SMS channel and the sender come from the text itself.
      const { channel: _c, callerPhone: _p, callId: _i, ...rest } = b;
      const r = await smsApi.register(fields.smsInboundId, rest, `${draftId.value}-${hash(JSON.stringify(rest))}`);
      saved.value = ticketsStore.remember(await ticketsApi.get(r.ticket.id));
      return saved.value;
    }
    if (!saved.value) {
      const created = await ticketsApi.create(b, `${draftId.value}-${hash(JSON.stringify(b))}`);
      saved.value = ticketsStore.remember(created);
      return saved.value;
    }
    const { channel: _c, callerPhone: _p, callId: _i, ...editable } = b;
    const updated = await ticketsApi.update(saved.value.id, saved.value.version, editable);
    saved.value = ticketsStore.remember(updated);
    return saved.value;
  }

  async function guarded<T>(kind: NonNullable<typeof busy.value>, work: () => Promise<T>): Promise<T | null> {
    if (busy.value) return null;
    busy.value = kind;
    error.value = null;
    try {
      return await work();
    } catch (e) {
      error.value = e;
      if (e instanceof ApiError && e.code === 'VERSION_CONFLICT' && saved.value) {
        // Someone else changed it: take theirs, so the next try goes through.
        saved.value = ticketsStore.remember(await ticketsApi.get(saved.value.id).catch(() => saved.value!));
      }
      throw e;
    } finally {
      busy.value = false;
    }
  }

  async function save(): Promise<Ticket | null> {
    attempted.value = true;
    // The type may still be the plan's to suggest: ask for it before saying it is missing.
    if (!fields.type && text.value && planStale.value) {
      planSoon.cancel();
      await requestPlan();
    }
    problems.value = check(false);
    if (problems.value.length) return null;
    return guarded('save', persist);
  }

  async function saveAndDispatch(): Promise<{ ticket: Ticket; unitName: string } | null> {
    attempted.value = true;
    if (planStale.value || !plan.value) {
      planSoon.cancel();
      await requestPlan();
    }
    problems.value = check(true);
    if (problems.value.length) return null;
    return guarded('dispatch', async () => {
      const ticket = await persist();
      const explicit = chosenUnitId.value && (overridden.value || !planUnitId.value) ? chosenUnitId.value : null;
      let r;
      try {
        r = await routingApi.dispatch(ticket.id, {
          version: ticket.version,
          planFingerprint: plan.value?.fingerprint ?? null,
          ...(explicit ? { handlingUnitId: explicit } : {}),
          ...(overridden.value ? { overrideReason: overrideReason.value.trim() } : {}),
        });
      } catch (e) {
        // The plan changed since it was shown: show the new one; the agent dispatches again to confirm it.
        const fresh = changedPlanOf(e);
        if (fresh) {
          planSeq++;
          plan.value = fresh;
          planKey.value = currentPlanKey.value;
        }
        throw e;
      }
      saved.value = ticketsStore.remember(r.ticket);
      const unitName = directory.unitName(r.ticket.handlingUnitId) || r.plan.leadUnit?.name || '';
      return { ticket: r.ticket, unitName };
    });
  }

  async function answerOnSpot(hit: Pick<KnowledgeHit, 'articleId' | 'answer'> | null, answer: string): Promise<Ticket | null> {
    attempted.value = true;
    if (!fields.type) fields.type = 'consultation';
    problems.value = check(false);
    if (problems.value.length) return null;
    return guarded('answer', async () => {
      const ticket = await persist();
      const done = await ticketsApi.transition(ticket.id, { action: 'answer_on_spot', version: ticket.version, answer, knowledgeArticleId: hit?.articleId ?? null });
      saved.value = ticketsStore.remember(done);
      return done;
    });
  }

  async function linkTo(other: Ticket, kind: 'related' | 'duplicate') {
    problems.value = check(false);
    if (problems.value.length) return null;
    return guarded('link', async () => {
      const ticket = await persist();
      return ticketsApi.link(ticket.id, other.id, kind);
    });
  }

  async function mergeInto(other: Ticket, reason: string) {
    problems.value = check(false);
    if (problems.value.length) return null;
    return guarded('link', async () => {
      const ticket = await persist();
      const merged = await ticketsApi.transition(ticket.id, { action: 'merge', version: ticket.version, intoTicketId: other.id, reason: reason || null });
      saved.value = ticketsStore.remember(merged);
      return merged;
    });
  }

  function reset(prefill: Partial<DraftFields> = {}) {
    Object.assign(fields, emptyFields(prefill));
    draftId.value = crypto.randomUUID?.() ?? String(Date.now());
    saved.value = null;
    touched.type = touched.urgency = false;
    plan.value = null;
    planKey.value = '';
    planError.value = null;
    planSeq++;
    resolution.value = null;
    resolveError.value = null;
    resolveSeq++;
    territoryPicked.value = false;
    chosenUnitId.value = null;
    overrideReason.value = '';
    error.value = null;
    problems.value = [];
    attempted.value = false;
    planSoon.cancel();
    resolveSoon.cancel();
  }

  /** The API's field errors land on the field they name (details.field / details.fields / details.missing). */
  const API_FIELDS: Record<string, DraftProblem['field']> = {
    callerPhone: 'callerPhone', citizenName: 'citizenName', occurredAt: 'occurredAt', addressText: 'addressText', territoryId: 'addressText',
    parties: 'parties', situation: 'situation', demand: 'demand', handlingUnitId: 'handlingUnit', overrideReason: 'overrideReason', type: 'type', title: 'title',
  };
  const SIX_FIELDS: Record<string, DraftProblem['field']> = { occurredAt: 'occurredAt', place: 'addressText', parties: 'parties', situation: 'situation', demand: 'demand', handlingUnit: 'handlingUnit' };
  function apiProblemOf(field: DraftProblem['field']): string {
    const e = error.value;
    if (!(e instanceof ApiError)) return '';
    const named = e.fields.some((f) => API_FIELDS[f.field.replace(/^body\./, '')] === field);
    const missing = ((e.details as { missing?: string[] } | undefined)?.missing ?? []).some((m) => SIX_FIELDS[m] === field);
    return named || missing ? (currentLocale() === 'en' ? e.message : e.messageZh) : '';
  }
  const problemOf = (field: DraftProblem['field']) => problems.value.find((p) => p.field === field)?.message ?? apiProblemOf(field);

  return {
    fields, saved, touched, plan, planLoading, planError, planStale, planUnitId, handlingUnitId, overridden, chosenUnitId, overrideReason,
    resolution, resolving, resolveError, missing, busy, error, problems, attempted, problemOf, text,
    requestPlan, planSoon, resolveAddress, onAddressInput, pickTerritory, save, saveAndDispatch, answerOnSpot, linkTo, mergeInto, reset,
  };
}

export type TicketDraft = ReturnType<typeof useTicketDraft>;
export const DRAFT_KEY: InjectionKey<TicketDraft> = Symbol('ticket-draft');
