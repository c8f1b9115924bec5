# Copied from the nanoseek project's reference material (shared/anchors/tinyseek.py beside the checkout,
# provided to the project for benchmarking); unchanged below this note. bench/twin.ts runs it with
# DATA_DIR pointing at a temp folder holding the project's own corpus (static/data/stories).
# A nanoseek-shaped tiny DeepSeek-V3 (MLA + decoupled RoPE, DeepSeekMoE with sigmoid gate,
# group-limited top-k and aux-loss-free bias balancing, one MTP module) trained at char level
# on CPU, to measure what such a model reaches in minutes: val bits/char, MTP acceptance,
# expert specialisation and load balance. Research harness only (not project code).
import math, time, json, sys, argparse, collections
import torch, torch.nn as nn, torch.nn.functional as F, os
DATA_DIR = os.environ.get('DATA_DIR', 'data')

p = argparse.ArgumentParser()
p.add_argument('--data', default='kids')
p.add_argument('--d', type=int, default=64)
p.add_argument('--layers', type=int, default=2)
p.add_argument('--heads', type=int, default=4)
p.add_argument('--q_lora', type=int, default=48)
p.add_argument('--kv_lora', type=int, default=32)
p.add_argument('--nope', type=int, default=16)
p.add_argument('--rope', type=int, default=8)
p.add_argument('--vdim', type=int, default=12)
p.add_argument('--inter', type=int, default=96)
p.add_argument('--experts', type=int, default=16)
p.add_argument('--topk', type=int, default=4)
p.add_argument('--moe_inter', type=int, default=24)
p.add_argument('--groups', type=int, default=4)
p.add_argument('--topk_groups', type=int, default=2)
p.add_argument('--scale', type=float, default=2.5)
p.add_argument('--first_dense', type=int, default=1)
p.add_argument('--mtp', type=int, default=1)
p.add_argument('--mtp_lambda', type=float, default=0.3)
p.add_argument('--balance', default='bias', choices=['bias', 'aux', 'none'])
p.add_argument('--gamma', type=float, default=1e-3)
p.add_argument('--aux_alpha', type=float, default=0.01)
p.add_argument('--block', type=int, default=128)
p.add_argument('--batch', type=int, default=16)
p.add_argument('--lr', type=float, default=3e-3)
p.add_argument('--minutes', type=float, default=5)
p.add_argument('--threads', type=int, default=2)
p.add_argument('--seed', type=int, default=1)
p.add_argument('--eval_every', type=float, default=30, help='seconds')
p.add_argument('--out', default='')
p.add_argument('--device', default='cpu')
p.add_argument('--domains', default='', help='comma list of val files (names) for per-domain routing/acceptance')
a = p.parse_args()
torch.manual_seed(a.seed)
torch.set_num_threads(a.threads)
dev = a.device

tr = open(f'{DATA_DIR}/{a.data}.train.txt').read()
va = open(f'{DATA_DIR}/{a.data}.val.txt').read()
V = 128  # ASCII, as nanoseek's vocab_size 128
enc = lambda s: torch.tensor([min(ord(c), 127) for c in s], dtype=torch.long)
trd, vad = enc(tr), enc(va)


class RMSNorm(nn.Module):
    def __init__(s, n): super().__init__(); s.w = nn.Parameter(torch.ones(n))
    def forward(s, x): return s.w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)


def rope_cache(T, dim, theta=10000.0):
    inv = 1.0 / theta ** (torch.arange(0, dim, 2).float() / dim)
    f = torch.outer(torch.arange(T).float(), inv)
    return f.cos().to(dev), f.sin().to(dev)


def apply_rope(x, cos, sin):  # x [..., T, dim], interleaved pairs
    x1, x2 = x[..., 0::2], x[..., 1::2]
    T = x.shape[-2]
    c, s_ = cos[:T], sin[:T]
    return torch.stack([x1 * c - x2 * s_, x1 * s_ + x2 * c], -1).flatten(-2)


class MLA(nn.Module):
    def __init__(s):
        super().__init__()
        H = a.heads
        s.wdq = nn.Linear(a.d, a.q_lora, bias=False); s.qn = RMSNorm(a.q_lora)
        s.wuq = nn.Linear(a.q_lora, H * (a.nope + a.rope), bias=False)
        s.wdkv = nn.Linear(a.d, a.kv_lora + a.rope, bias=False); s.kvn = RMSNorm(a.kv_lora)
        s.wukv = nn.Linear(a.kv_lora, H * (a.nope + a.vdim), bias=False)
        s.wo = nn.Linear(H * a.vdim, a.d, bias=False)

    def forward(s, x, cos, sin):
        B, T, _ = x.shape; H = a.heads
        q = s.wuq(s.qn(s.wdq(x))).view(B, T, H, a.nope + a.rope).transpose(1, 2)
        qn, qr = q.split([a.nope, a.rope], -1)
        qr = apply_rope(qr, cos, sin)
        ckv, kr = s.wdkv(x).split([a.kv_lora, a.rope], -1)
        kr = apply_rope(kr.unsqueeze(1), cos, sin)  # shared across heads (decoupled RoPE key)
        kv = s.wukv(s.kvn(ckv)).view(B, T, H, a.nope + a.vdim).transpose(1, 2)
        kn, v = kv.split([a.nope, a.vdim], -1)
        qf = torch.cat([qn, qr], -1)
        kf = torch.cat([kn, kr.expand(B, H, T, a.rope)], -1)
        att = (qf @ kf.transpose(-1, -2)) / math.sqrt(a.nope + a.rope)
        mask = torch.ones(T, T, dtype=torch.bool, device=dev).tril()
        att = att.masked_fill(~mask, float('-inf')).softmax(-1)
        return s.wo((att @ v).transpose(1, 2).reshape(B, T, H * a.vdim))


class Dense(nn.Module):
    def __init__(s, hid):
        super().__init__()
        s.g = nn.Linear(a.d, hid, bias=False); s.u = nn.Linear(a.d, hid, bias=False); s.dn = nn.Linear(hid, a.d, bias=False)
    def forward(s, x): return s.dn(F.silu(s.g(x)) * s.u(x))


class MoE(nn.Module):
    def __init__(s):
        super().__init__()
        E, h = a.experts, a.moe_inter
        s.gate = nn.Parameter(torch.randn(E, a.d) * a.d ** -0.5)
        s.register_buffer('bias', torch.zeros(E))
        s.w1 = nn.Parameter(torch.randn(E, a.d, h) * a.d ** -0.5)
        s.w3 = nn.Parameter(torch.randn(E, a.d, h) * a.d ** -0.5)
        s.w2 = nn.Parameter(torch.randn(E, h, a.d) * h ** -0.5)
        s.shared = Dense(h)
        s.last = None

    def route(s, x):  # x [N, d] -> idx [N, k], weights [N, k], scores [N, E]
        E, G = a.experts, a.groups
        sc = torch.sigmoid(x @ s.gate.t())
        sel = sc.detach() + s.bias if a.balance == 'bias' else sc.detach()
        gs = sel.view(-1, G, E // G).topk(min(2, E // G), -1).values.sum(-1)
        keep = gs.topk(a.topk_groups, -1).indices
        gmask = torch.zeros_like(gs).scatter_(1, keep, 1.0).repeat_interleave(E // G, 1)
        idx = sel.masked_fill(gmask == 0, float('-inf')).topk(a.topk, -1).indices
        w = sc.gather(1, idx)
        w = w / w.sum(-1, keepdim=True) * a.scale
        return idx, w, sc

    def forward(s, x):
        B, T, D = x.shape
        xf = x.reshape(-1, D)
        idx, w, sc = s.route(xf)
        dense_w = torch.zeros(xf.shape[0], a.experts, device=dev).scatter(1, idx, w)
        # compute all experts densely (tiny), mask by gate weights
        h = F.silu(torch.einsum('nd,edh->enh', xf, s.w1)) * torch.einsum('nd,edh->enh', xf, s.w3)
        y = torch.einsum('enh,ehd->end', h, s.w2)
        out = torch.einsum('end,ne->nd', y, dense_w) + s.shared(xf)
        s.last = (idx.detach(), sc)
        return out.view(B, T, D)

    def aux_loss(s):
        idx, sc = s.last
        N = idx.shape[0]
        f = torch.zeros(a.experts, device=dev).scatter_add_(0, idx.flatten(), torch.ones(idx.numel(), device=dev)) * a.experts / (a.topk * N)
        pn = sc / sc.sum(-1, keepdim=True)
        return (f * pn.mean(0)).sum()

    def update_bias(s):
        idx, _ = s.last
        load = torch.bincount(idx.flatten(), minlength=a.experts).float()
        s.bias += a.gamma * torch.sign(load.mean() - load)


class Block(nn.Module):
    def __init__(s, moe):
        super().__init__()
        s.n1 = RMSNorm(a.d); s.att = MLA(); s.n2 = RMSNorm(a.d)
        s.ffn = MoE() if moe else Dense(a.inter)
    def forward(s, x, cos, sin):
        x = x + s.att(s.n1(x), cos, sin)
        return x + s.ffn(s.n2(x))


class Model(nn.Module):
    def __init__(s):
        super().__init__()
        s.emb = nn.Embedding(V, a.d)
        s.blocks = nn.ModuleList([Block(i >= a.first_dense) for i in range(a.layers)])
        s.norm = RMSNorm(a.d)
        s.head = nn.Linear(a.d, V, bias=False)
        if a.mtp:
            s.mtp_hn = RMSNorm(a.d); s.mtp_en = RMSNorm(a.d)
            s.mtp_proj = nn.Linear(2 * a.d, a.d, bias=False)
            s.mtp_block = Block(True)
            s.mtp_norm = RMSNorm(a.d)
        s.cos, s.sin = rope_cache(a.block + 2, a.rope)

    def forward(s, idx):  # idx [B, T]; returns main logits [B,T,V], mtp logits [B,T-1,V] (predicts t+2 from h_t and emb(t+1))
        x = s.emb(idx)
        for b in s.blocks: x = b(x, s.cos, s.sin)
        h = x
        logits = s.head(s.norm(h))
        mlog = None
        if a.mtp:
            hm = s.mtp_proj(torch.cat([s.mtp_hn(h[:, :-1]), s.mtp_en(s.emb(idx[:, 1:]))], -1))
            hm = s.mtp_block(hm, s.cos, s.sin)
            mlog = s.head(s.mtp_norm(hm))
        return logits, mlog

    def moes(s):
        m = [b.ffn for b in s.blocks if isinstance(b.ffn, MoE)]
        if a.mtp: m.append(s.mtp_block.ffn)
        return m


model = Model().to(dev)
nparam = sum(p.numel() for p in model.parameters())
print(f'params {nparam}', flush=True)
opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.1)
L2 = math.log(2)


def batch(d, B):
    ix = torch.randint(len(d) - a.block - 2, (B,))
    return torch.stack([d[i:i + a.block + 2] for i in ix]).to(dev)


@torch.no_grad()
def evaluate(nb=20, seed=123, src=None):
    vad_ = vad if src is None else src
    model.eval()
    g = torch.Generator().manual_seed(seed)
    tot = collections.defaultdict(float)
    n = 0
    for _ in range(nb):
        ix = torch.randint(len(vad_) - a.block - 2, (a.batch,), generator=g)
        xb = torch.stack([vad_[i:i + a.block + 2] for i in ix]).to(dev)
        x = xb[:, :a.block + 1]
        lg, ml = model(x)
        y1 = xb[:, 1:a.block + 2]
        tot['main'] += F.cross_entropy(lg.reshape(-1, V), y1.reshape(-1)).item()
        tot['acc1'] += (lg.argmax(-1) == y1).float().mean().item()
        if ml is not None:
            y2 = xb[:, 2:a.block + 2]
            tot['mtp'] += F.cross_entropy(ml.reshape(-1, V), y2.reshape(-1)).item()
            tot['acc2'] += (ml.argmax(-1) == y2).float().mean().item()
            # acceptance proxies on real text (teacher forced): the draft for t+2 (from h_t, true t+1)
            # against the main model's own distribution at t+1
            p = lg[:, 1:].softmax(-1); q = ml.softmax(-1)
            tot['acc_greedy'] += (ml.argmax(-1) == lg[:, 1:].argmax(-1)).float().mean().item()
            tot['acc_t1'] += torch.minimum(p, q).sum(-1).mean().item()
        n += 1
    model.train()
    return {k: v / n for k, v in tot.items()}


@torch.no_grad()
def spec_generate(prompt, n_new=400, temp=0.0):
    """Greedy (temp 0) or sampled self-speculative decoding with the MTP module as a 1-token drafter.
    Recomputes the full context each step (simple, exact). Returns text, acceptance rate."""
    model.eval()
    ids = enc(prompt).tolist()
    acc = tries = 0
    while len(ids) < len(enc(prompt)) + n_new:
        ctx = torch.tensor([ids[-(a.block):]], device=dev)
        lg, _ = model(ctx)
        p = (lg[0, -1] / max(temp, 1e-6)).softmax(-1) if temp > 0 else None
        t1 = int(torch.multinomial(p, 1)) if temp > 0 else int(lg[0, -1].argmax())
        # draft t2 with MTP from h_last and emb(t1)
        ctx2 = torch.tensor([(ids + [t1])[-(a.block + 1):]], device=dev)
        lg2, ml2 = model(ctx2)
        q = (ml2[0, -1] / max(temp, 1e-6)).softmax(-1) if temp > 0 else None
        d = int(torch.multinomial(q, 1)) if temp > 0 else int(ml2[0, -1].argmax())
        # verify: main model's distribution after t1 is lg2[0,-1]
        tries += 1
        if temp > 0:
            p2 = (lg2[0, -1] / temp).softmax(-1)
            ok = torch.rand(1).item() < min(1.0, (p2[d] / q[d]).item())
        else:
            ok = d == int(lg2[0, -1].argmax())
        ids.append(t1)
        if ok:
            acc += 1; ids.append(d)
        else:
            if temp > 0:
                r = (p2 - q).clamp(min=0); r = r / r.sum(); ids.append(int(torch.multinomial(r, 1)))
            else:
                ids.append(int(lg2[0, -1].argmax()))
    model.train()
    return ''.join(chr(i) for i in ids), acc / max(tries, 1)


CLASSES = {'space': ' ', 'newline': '\n', 'vowel': 'aeiou', 'consonant': 'bcdfghjklmnpqrstvwxyz',
           'upper': 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'digit': '0123456789', 'punct': '.,;:!?\'"-()[]_*&$%'}
def cls_of(c):
    for k, v in CLASSES.items():
        if c in v: return k
    return 'other'


@torch.no_grad()
def routing_stats(nb=20):
    """Per MoE layer: load MaxVio, and mutual information (bits) between the top-k expert set members and
    (a) the current char, (b) the char class, normalised by H(expert)."""
    model.eval()
    g = torch.Generator().manual_seed(7)
    res = []
    mo = model.moes()
    counts = [collections.Counter() for _ in mo]  # (expert, char) pairs
    for _ in range(nb):
        ix = torch.randint(len(vad) - a.block - 2, (a.batch,), generator=g)
        xb = torch.stack([vad[i:i + a.block + 2] for i in ix]).to(dev)
        model(xb[:, :a.block + 1])
        for li, m in enumerate(mo):
            idx, _ = m.last
            toks = xb[:, :a.block + 1] if li < len(mo) - (1 if a.mtp else 0) else xb[:, 1:a.block + 1]  # mtp block sees t+1 embedding
            toks = toks.reshape(-1)
            for e_row, t in zip(idx.tolist(), toks.tolist()):
                for e in e_row: counts[li][(e, t)] += 1
    for li, c in enumerate(counts):
        def mi(keyf):
            joint = collections.Counter(); pe = collections.Counter(); pk = collections.Counter(); N = 0
            for (e, t), n in c.items():
                k = keyf(t); joint[(e, k)] += n; pe[e] += n; pk[k] += n; N += n
            I = sum(n / N * math.log2((n / N) / (pe[e] / N * pk[k] / N)) for (e, k), n in joint.items())
            He = -sum(n / N * math.log2(n / N) for n in pe.values())
            return I, He
        I_char, He = mi(lambda t: t)
        I_cls, _ = mi(lambda t: cls_of(chr(t)))
        load = collections.Counter()
        for (e, t), n in c.items(): load[e] += n
        loads = [load[e] for e in range(a.experts)]
        maxvio = max(loads) / (sum(loads) / a.experts) - 1
        # each expert's top chars
        per = collections.defaultdict(collections.Counter)
        for (e, t), n in c.items(): per[e][t] += n
        tops = {e: ''.join(chr(t) for t, _ in per[e].most_common(8)).replace('\n', '\\n') for e in range(a.experts)}
        res.append({'layer': li, 'MI_char_bits': round(I_char, 3), 'MI_class_bits': round(I_cls, 3), 'H_expert_bits': round(He, 3),
                    'maxvio': round(maxvio, 3), 'load': loads, 'top_chars': tops})
    model.train()
    return res



@torch.no_grad()
def domain_stats():
    names = [n for n in a.domains.split(',') if n]
    if not names: return {}
    srcs = {n: enc(open(f'{DATA_DIR}/{n}.txt').read()) for n in names}
    out = {'eval': {n: evaluate(src=srcs[n]) for n in names}}
    model.eval()
    mo = model.moes()
    loads = {n: [torch.zeros(a.experts) for _ in mo] for n in names}
    g = torch.Generator().manual_seed(11)
    for n in names:
        for _ in range(10):
            ix = torch.randint(len(srcs[n]) - a.block - 2, (a.batch,), generator=g)
            xb = torch.stack([srcs[n][i:i + a.block + 2] for i in ix]).to(dev)
            model(xb[:, :a.block + 1])
            for li, m in enumerate(mo):
                loads[n][li] += torch.bincount(m.last[0].flatten().cpu(), minlength=a.experts).float()
    res = []
    for li in range(len(mo)):
        P = torch.stack([loads[n][li] / loads[n][li].sum() for n in names])  # domains x experts, equal domain weight
        pe = P.mean(0)
        mi = float(sum((P[d] * (P[d] / pe).clamp(min=1e-12).log2()).sum() for d in range(len(names))) / len(names))
        res.append({'layer': li, 'MI_domain_bits': round(mi, 3), 'share_by_domain': {n: [round(float(x), 3) for x in P[d]] for d, n in enumerate(names)}})
    out['routing'] = res
    model.train()
    return out

ds0 = domain_stats()
print('untrained domains', json.dumps(ds0.get('routing', [])), flush=True)
log = []
t0 = time.time(); step = 0; next_eval = 0; tokens = 0; train_sec = 0.0
total = a.minutes * 60
r0 = routing_stats()
print('untrained routing', json.dumps([{k: v for k, v in r.items() if k not in ('top_chars', 'load')} for r in r0]), flush=True)
while True:
    el = train_sec
    if el >= next_eval or el >= total:
        ev = evaluate(); ev.update(step=step, sec=round(el, 1), wall=round(time.time() - t0, 1), tokens=tokens, tok_per_s=round(tokens / max(el, 1e-9)))
        ev['bpc'] = ev['main'] / L2
        log.append(ev)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in ev.items()}), flush=True)
        next_eval += a.eval_every
        if el >= total: break
    lr = a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(el / total, 1)))) if step > 50 else a.lr * step / 50
    for gq in opt.param_groups: gq['lr'] = lr
    ts = time.time()
    xb = batch(trd, a.batch)
    x = xb[:, :a.block + 1]
    lg, ml = model(x)
    loss = F.cross_entropy(lg.reshape(-1, V), xb[:, 1:a.block + 2].reshape(-1))
    if ml is not None:
        loss = loss + a.mtp_lambda * F.cross_entropy(ml.reshape(-1, V), xb[:, 2:a.block + 2].reshape(-1))
    if a.balance == 'aux':
        loss = loss + a.aux_alpha * sum(m.aux_loss() for m in model.moes())
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if a.balance == 'bias':
        for m in model.moes(): m.update_bias()
    if dev == 'cuda': torch.cuda.synchronize()
    train_sec += time.time() - ts
    step += 1; tokens += a.batch * (a.block + 1)

rs = routing_stats()
ds = domain_stats()
print('trained domains', json.dumps(ds), flush=True)
print('trained routing', json.dumps(rs), flush=True)
prompts = {'mix': 'Once upon a time there was a little ', 'kids': 'Once upon a time there was a little ', 'sotu': 'Fellow citizens of the Senate and House of Representatives: ', 'shakes': 'Ham. To be, or not to be, '}
txt, accg = spec_generate(prompts.get(a.data, 'The '), 300, 0.0)
print('GREEDY spec acceptance', round(accg, 3), '\n' + txt, flush=True)
txt1, acc1 = spec_generate(prompts.get(a.data, 'The '), 300, 1.0)
print('T=1 spec acceptance', round(acc1, 3), '\n' + txt1, flush=True)
txt8, acc8 = spec_generate(prompts.get(a.data, 'The '), 300, 0.8)
print('T=0.8 spec acceptance', round(acc8, 3), '\n' + txt8, flush=True)
if a.out:
    json.dump({'args': vars(a), 'params': nparam, 'log': log, 'routing_untrained': r0, 'routing': rs, 'greedy_acc': accg, 't1_acc': acc1, 't08_acc': acc8,
               'domains_untrained': ds0, 'domains': ds, 'sample_greedy': txt, 'sample_t1': txt1, 'sample_t08': txt8}, open(a.out, 'w'), indent=1)
