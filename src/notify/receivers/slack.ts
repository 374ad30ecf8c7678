// Slack incoming webhook with Block Kit (https://api.slack.com/block-kit): a header, one section per
// group (priority, title, where, count, why, link, remediation), a summary of what the rate limit left
// out, and a plain `text` fallback for notifications. Slack caps a message at 50 blocks, a header at
// 150 characters and a section text at 3000, so everything is bounded here.
import { clip, headline, kindVerb, remediationText, type GroupSnapshot, type NotificationMessage } from '../message.ts';
import { JSON_HEADERS, type OutboundRequest, type ReceiverSecrets } from './types.ts';

/** Each group takes 3 blocks (section, context, divider): 15 of them plus header and summary stay under 50. */
const MAX_GROUP_BLOCKS = 15;

type Block = Record<string, unknown>;

/** Slack mrkdwn treats &, < and > specially; log text must not inject links or mentions. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function groupBlocks(g: GroupSnapshot): Block[] {
  const where = [g.namespace, g.workload || g.pod].filter(Boolean).join('/') || 'cluster';
  const title = g.url ? `<${g.url}|${escapeMrkdwn(clip(g.title, 150))}>` : escapeMrkdwn(clip(g.title, 150));
  const lines = [`*[${g.priority}] ${title}*`, escapeMrkdwn(clip(g.message, 400))];
  const remediation = remediationText(g.event);
  if (remediation) lines.push(`*Remediation:* ${escapeMrkdwn(remediation)}`);
  const blocks: Block[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: clip(lines.join('\n'), 2900) },
      fields: [
        { type: 'mrkdwn', text: `*Priority*\n${g.priority}` },
        { type: 'mrkdwn', text: `*Where*\n${escapeMrkdwn(clip(where, 200))}` },
        { type: 'mrkdwn', text: `*Count*\n${g.count}` },
        { type: 'mrkdwn', text: `*Why*\n${escapeMrkdwn(clip(g.why, 200))}` },
      ],
    },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: escapeMrkdwn(clip(`status ${g.status} · first seen ${g.firstSeen} · last seen ${g.lastSeen}${g.remediation ? ` · last remediation ${g.remediation.action}: ${g.remediation.lastOutcome ?? 'pending'}` : ''}`, 300)) }],
    },
  ];
  return blocks;
}

export function renderSlack(m: NotificationMessage, secrets: ReceiverSecrets): OutboundRequest[] {
  if (!secrets.slackUrl) throw new Error('slack webhook URL is empty');
  const total = m.groups.length + m.suppressed;
  const head = `${kindVerb(m.kind)}: ${total === 1 && m.groups[0] ? headline(m.groups[0]) : `${total} error group${total === 1 ? '' : 's'}`}`;
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: clip(head, 150), emoji: false } }];
  const shown = m.groups.slice(0, MAX_GROUP_BLOCKS);
  for (const g of shown) blocks.push(...groupBlocks(g), { type: 'divider' });
  const notShown = m.groups.length - shown.length + m.suppressed;
  if (notShown > 0) {
    const by = Object.entries(m.suppressedByPriority).filter(([, n]) => n > 0).map(([p, n]) => `${n}× ${p}`).join(', ');
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `*…and ${notShown} more group${notShown === 1 ? '' : 's'}* (rate limit of route \`${escapeMrkdwn(m.route)}\`${by ? `: ${by}` : ''}). See the dashboard for all of them.` },
    });
  }
  const text = clip(`${head}${m.groups[0] ? ` — ${m.groups[0].message}` : ''}`, 1000);
  return [{ url: secrets.slackUrl, headers: { ...JSON_HEADERS }, body: JSON.stringify({ text, blocks }) }];
}
