"""negspacy's ``Negex`` with a linear assignment of spans to sentences.

negspacy 1.1 scans every span of every span group once per sentence
boundary (quadratic in the note length). This subclass keeps negspacy's cue
matching, pseudo-negations, termination and per-span rule unchanged and only
finds each span's boundary by bisection. Registered as ``spine_negex`` with
the same configuration as ``negex``.
"""

from bisect import bisect_right

import negspacy.negation  # noqa: F401  registers "negex" (negspacy 1.1 does not on import)
from negspacy.negation import Negex
from spacy.language import Language


@Language.factory("spine_negex", default_config={
    "neg_termset": None, "ent_types": None, "extension_name": "negex", "chunk_prefix": None, "span_keys": None})
def make_spine_negex(nlp, name, neg_termset, ent_types, extension_name, chunk_prefix, span_keys):
    return SpineNegex(nlp, name, neg_termset, ent_types, extension_name, chunk_prefix, span_keys)


class SpineNegex(Negex):
    def termination_boundaries(self, doc, terminating):
        """negspacy's boundaries, from the sentence starts spine_sentences stored."""
        from .components import sent_starts
        starts = sorted(set(sent_starts(doc)) | {t[1] for t in terminating} | {len(doc)})
        return list(zip(starts, starts[1:]))

    def negex(self, doc):
        preceding, following, terminating = self.process_negations(doc)
        if not preceding and not following and not self.chunk_prefix:
            return doc  # no cue in the note: nothing can be flagged (most notes, for family and hypothetical)
        boundaries = self.termination_boundaries(doc, terminating)
        if not boundaries:
            return doc
        starts = [b[0] for b in boundaries]
        pre = [[] for _ in boundaries]
        fol = [[] for _ in boundaries]
        for cue in preceding:
            pre[bisect_right(starts, cue[1]) - 1].append(cue)
        for cue in following:
            fol[bisect_right(starts, cue[1]) - 1].append(cue)
        for key in self.span_keys:
            for span in doc.spans.get(key, ()):
                i = bisect_right(starts, span.start) - 1
                if i < 0 or span.end > boundaries[i][1]:
                    continue  # crosses a boundary: negspacy leaves such spans alone too
                if pre[i] or fol[i] or self.chunk_prefix:
                    self._apply_negation(span, pre[i], fol[i])
        return doc
