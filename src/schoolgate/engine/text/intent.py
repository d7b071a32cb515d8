"""The intent grammar: what a sentence says someone means to do, beyond the words it contains.

A keyword library knows "kill myself"; pupils write "i want to hang myself", "i dont want to
live anymore", "kms", "tired of living", "i want it all to end", "going to off myself". The
grammar reads `canonical()` text (text/canonical.py: `im` -> `i am`, `u` -> `you`, `wanna` ->
`want to`, misspellings folded) and recognises families of statements, each with a severity:

self-harm (first person)
    desire      wanting to die or not to live ("i dont want to be alive", "tired of living")
    act         a self-harm or suicide verb on `myself` ("hang myself", "off myself", "kms")
    plan        a stated plan or means ("going to commit suicide", "saving up pills")
    farewell    a goodbye ("this is my last post", "by the time you read this")
    suicide     `suicide` or `suicidal` said of oneself ("i want to commit suicide", "i feel
                suicidal") — above `low`, unlike the bare word
bullying (second person)
    insult      "you are so ugly", "your a loser", "you fat pig"; appearance ("fat pig")
    isolation   "no one likes you", "you have no friends"
    incitement  "go hang yourself", "you should die", "i hope you die"
    threat      "i am going to batter you"
    gendered    "get back in the kitchen", "women are only good for"
extremism and bullying (about a group)
    dehumanising  group noun + dehumanising or criminalising predicate: "<group> are
                  terrorists", "all <group> are vermin" (group = identity words, identity.yaml)

Context the grammar reports:

- negation: a self-harm act or incitement directly negated ("i would never kill myself",
  "please dont kill yourself") is not a statement of intent; the scanner keeps it at `low`;
- concern: someone worried for another person ("please dont kill yourself", "how do i help a
  friend who self harms", "my friend wants to kill herself") — a concern-for-a-friend signal the
  scanner routes to the DSL, never filed as bullying (HG-099: pupils' disclosures reach the DSL);
- organisation support: words of support, joining or propaganda ("i support", "join", "flag",
  "videos", "long live") — without them an organisation's name (isis, daesh) is news, not an
  alert (SH-024, STM-151).

Identity words alone never match: every group rule needs a hostile predicate, and "<group> are
not terrorists" or "not all <group> are ..." do not match.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from schoolgate.engine.policy.schema import AlertLevel

SELF_HARM = "self-harm"
BULLYING = "bullying"
EXTREMISM = "extremism"

_LOW, _MEDIUM, _HIGH, _CRITICAL = (
    AlertLevel.LOW,
    AlertLevel.MEDIUM,
    AlertLevel.HIGH,
    AlertLevel.CRITICAL,
)


@dataclass(frozen=True, slots=True)
class IntentHit:
    library: str
    family: str
    phrase: str
    """The canonical words that matched (what the DSL reads in the alert)."""
    severity: AlertLevel


@dataclass(frozen=True, slots=True)
class Reading:
    hits: tuple[IntentHit, ...]
    negated: tuple[IntentHit, ...]
    """Statements the text negates ("i would never kill myself"): logged at `low` at most."""
    concern: bool
    """Someone is worried about another person's safety (concern for a friend)."""


@dataclass(frozen=True, slots=True)
class _Rule:
    library: str
    family: str
    severity: AlertLevel
    needs: frozenset[str]
    """The rule is tried only if the text has one of these words (a cheap prefilter)."""
    pattern: re.Pattern[str]
    negatable: bool = False


def _needs(words: str, group_words: frozenset[str]) -> frozenset[str]:
    if words == "@INSULT":
        return _tokens(_INSULT_ADJ, _INSULT_NOUN)
    if words == "@APPEARANCE":
        return _tokens(_APPEARANCE)
    if words == "@GROUP":
        return frozenset(w.split(" ")[-1] for w in group_words)
    return frozenset(words.split())


def _tokens(*alternations: str) -> frozenset[str]:
    """The content words of regular-expression alternations ("a waste of space" -> waste, space)."""
    words = {w for alt in alternations for option in alt.split("|") for w in option.split(" ")}
    return frozenset(words - {"a", "an", "the", "of", "to", "my", "your", ""})


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])")


# --- shared fragments (canonical text: "i am", "do not", "want to", "you", "any more") --------

_ADV = (
    r"(?:(?:really|just|honestly|actually|literally|seriously|kind|of|kinda|so|truly|genuinely|"
    r"definitely|fucking|fkn|lowkey|still|always|often|sometimes|now|then|only|all|legit|"
    r"totally|probably|might|can|could|should|would|think|feel|like|wish|want|wanted|need|"
    r"going|about|ready|trying|try|tried|attempt|attempting|planning|plan|on|thinking|"
    r"considering|tempted|decided|have|has|got|to|and|or|i|am|will|ill|id|be|gonna|gotta|"
    r"seriously|even|ever|ok|okay|sometimes|cant|stop|keep|kept)\s){0,6}"
)
_ACT_VERB = (
    r"kill|killing|killed|hang|hanging|hanged|off|offing|unalive|unaliving|shoot|shooting|"
    r"drown|drowning|poison|poisoning|suffocate|suffocating|gas|gassing|overdose|overdosing|od|"
    r"stab|stabbing|top|topping|end|ending|neck|necking|rope|roping|strangle|strangling|"
    r"slit|electrocute|starve|starving|burn|burning|cut|cutting|hurt|hurting|harm|harming"
)
_NOT_LIVE = (
    r"live|living|be alive|stay alive|exist|be living|wake up|keep living|continue living|"
    r"live my life|be on this earth|be in this world|be born|have been born|breathe"
)
_NOT_HERE = r"be here|be around|go on|carry on|keep going|do this|do life|try any more"
_TIRED = r"tired|sick|done|exhausted|fed up|weary|so done|over it"
_YOU_ARE = r"you are|your|you|you r|you re|u r"
_INTENS = (
    r"(?:(?:so|such|really|very|a|an|the|just|fucking|fuckin|fkn|fking|freaking|proper|total|"
    r"complete|absolute|absolutely|massive|big|little|lil|literally|disgusting|ugly|fat|stupid|"
    r"dumb|pathetic|worthless|useless|nasty|dirty|filthy|smelly|gross|thick|weird|sad|"
    r"bloody|dumbass|stinking|stinky)\s){0,4}"
)
_INSULT_ADJ = (
    r"ugly|fat|gross|disgusting|hideous|repulsive|stupid|dumb|thick|retarded|worthless|"
    r"pathetic|useless|annoying|weird|smelly|stinky|minging|rank|nasty|vile|unlovable|"
    r"unwanted|a waste of space|waste of space|waste of oxygen|a waste of oxygen|a joke|"
    r"a failure|a mistake|an embarrassment|embarrassing|a disgrace|a disappointment"
)
_INSULT_NOUN = (
    r"loser|losers|freak|weirdo|idiot|moron|pig|cow|whale|hippo|slag|slut|whore|hoe|ho|skank|"
    r"bitch|thot|tramp|bellend|prick|twat|cunt|dickhead|knobhead|retard|spastic|spaz|nonce|"
    r"paedo|pedo|incel|failure|mistake|nobody|clown|rat|snake|dog|troll|blob|lard|lardass|"
    r"fatass|fat ass|scum|trash|garbage|mong|virgin|faggot|fag|dyke|tranny|ugly|fat|bastard|"
    r"wanker|tosser|minger|munter|dog face|pizza face|four eyes|crackhead"
)
_APPEARANCE = r"fat|ugly|disgusting|gross|smelly|hideous|greasy|spotty|minging|stinky|fugly"
_APPEARANCE_NOUN = (
    r"pig|pigs|cow|cows|bitch|slag|slut|whore|hoe|whale|hippo|cunt|twat|loser|freak|dog|troll|"
    r"blob|lump|mess|rat|beast|bastard|minger|munter|lard|lardass|piggy|thing|pig face|face"
)
_YOURSELF_VERB = (
    r"kill|hang|drown|shoot|stab|neck|rope|off|unalive|end|hurt|cut|poison|suffocate|"
    r"overdose|od|burn|set fire to|slit|top|strangle|electrocute"
)
_GROUP_PRED_SEVERE = (
    r"animals|vermin|rats|cockroaches|roaches|parasites|pigs|dogs|apes|monkeys|savages|"
    r"subhuman|sub human|subhumans|not human|not even human|less than human|a disease|diseases|"
    r"a cancer|cancer|a virus|a plague|plague|filth|scum|leeches|abominations|an abomination|"
    r"barbarians|inferior|an inferior race|inbred|inbreds|trash|garbage|rubbish|a disgrace|"
    r"demons|devils|evil|pedos|paedos|pedophiles|paedophiles|nonces|groomers|rapists|"
    r"terrorists|terrorist|murderers|killers|invaders|the enemy|our enemy|enemies|a threat|"
    r"criminals|thieves|degenerates|degenerate|dirty|filthy|disgusting|worthless"
)
_GROUP_PRED_MILD = (
    r"stupid|retarded|dumb|ugly|smelly|lazy|a joke|weird|freaks|mentally ill|sick|"
    r"unnatural|wrong|a mental illness|gross|useless|pathetic|idiots|morons"
)
_GROUP_FATE = (
    r"die|all die|be killed|be gassed|be shot|be hanged|be hung|be exterminated|be wiped out|"
    r"be deported|be sent back|go back|go back home|burn|be burned|be burnt|rot|not exist|"
    r"be banned|be locked up|be castrated|be eradicated|be eliminated|be put down"
)
_GROUP_COPULA = r"(?:are|r|is|were|will always be|have always been)"
_GROUP_FILLER = (
    r"(?:(?:all|just|nothing|but|literally|basically|fucking|such|so|a|an|bunch|pack|of|like|"
    r"the|dirty|filthy|disgusting|stinking|worthless|total|complete|absolute|evil|vile|"
    r"disgusting|lowlife|dumb|stupid|islamic|jihadi|fat|ugly|smelly|sick|twisted|dangerous|"
    r"inbred|sub|human)\s){0,5}"
)


@functools.cache
def _rules(group_words: frozenset[str]) -> tuple[_Rule, ...]:
    groups = "|".join(sorted((re.escape(w) for w in group_words), key=len, reverse=True))
    group = (
        r"(?:(?:all|the|most|these|those|fucking|filthy|dirty|bloody|stinking)\s){0,3}"
        rf"(?:{groups})(?: people| folk| folks| men| women| guys| kids| girls| boys| lot)?"
    )
    return (
        # --- self-harm: acts on oneself ----------------------------------------------------------
        _Rule(
            SELF_HARM,
            "act",
            _HIGH,
            _needs("myself", group_words),
            _rx(rf"(?:{_ACT_VERB}) myself"),
            negatable=True,
        ),
        _Rule(
            SELF_HARM,
            "act",
            _HIGH,
            _needs("kms kmsss k ctb sewerslide sewer", group_words),
            _rx(r"kms|kmsss|k m s|ctb|sewerslide|sewer slide"),
        ),
        _Rule(
            SELF_HARM,
            "act",
            _HIGH,
            _needs("myself", group_words),
            _rx(
                r"(?:i|i am|i will|ill|to|gonna|going to|want to|"
                r"wish i could) (?:just )?(?:yeet|throw|fling|launch) "
                r"myself (?:off|in front of|under|into)"
            ),
            negatable=True,
        ),
        _Rule(
            SELF_HARM,
            "act",
            _HIGH,
            _needs("jump jumping step stepping walk walking", group_words),
            _rx(
                r"(?:i|i am|i will|ill|i would|id) " + _ADV + r"(?:jump|jumping|step|stepping|walk|"
                r"walking) (?:off|from|in front of|into) (?:a |the |my |this |that )?(?:bridge|"
                r"building|roof|rooftop|cliff|balcony|tower|car park|train|bus|car|lorry|traffic|"
                r"motorway|road|window|sea|river)"
            ),
            negatable=True,
        ),
        _Rule(
            SELF_HARM,
            "act",
            _HIGH,
            _needs(
                "self sh relapse relapsed relapsing cut cutting started burnt burned hit punch "
                "scratch bang",
                group_words,
            ),
            _rx(
                r"(?:i|i am) " + _ADV + r"(?:self harm|self harming|sh|relapse|relapsed|relapsing|"
                r"cut again|cutting again|started cutting|cut my wrists|cut my arms|cut my legs|"
                r"cut my thighs|burnt myself|burned myself|hit myself|punch myself|scratch myself|"
                r"bang my head)"
            ),
            negatable=True,
        ),
        _Rule(
            SELF_HARM,
            "act",
            _MEDIUM,
            _needs("cuts scars wounds sh self", group_words),
            _rx(
                r"(?:my|my sh|my self harm) (?:cuts|"
                r"scars|wounds)|(?:sh|self harm) (?:scars|cuts|relapse|again)|(?:i|i am) "
                r"(?:clean|days clean|weeks clean) from (?:sh|self harm|cutting)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "act",
            _HIGH,
            _needs("cuts scars", group_words),
            _rx(
                r"(?:fresh|new|deep|deeper|hide my|hiding my|cover my|cover up my|covering my|"
                r"covering up my) (?:sh |self harm )?(?:cuts|scars)"
            ),
        ),
        # --- self-harm: wanting to die / not to live -------------------------------------------
        _Rule(
            SELF_HARM,
            "desire",
            _HIGH,
            _needs("live living alive exist wake born breathe earth world", group_words),
            _rx(
                r"(?:i|i am|i just|i really|i honestly) (?:do not|dont|never|no longer|not) "
                + _ADV
                + rf"(?:want to|wish to|want|wanna|feel like|see the point in|see a point in|"
                rf"see any point in|feel like i want to|deserve to|need to|think i can|"
                rf"think i want "
                rf"to|know if i want to|know how to|have the strength to|have a reason to) "
                rf"(?:{_NOT_LIVE})"
            ),
        ),
        _Rule(
            SELF_HARM,
            "desire",
            _HIGH,
            _needs("more longer", group_words),
            _rx(
                r"(?:i|i am|i just|i really) (?:do not|dont|never|no longer|not) "
                + _ADV
                + rf"(?:want to|wish to|want|feel like|think i can|can) (?:{_NOT_HERE}) "
                r"(?:any more|much longer|for much longer|no more|any longer)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "desire",
            _HIGH,
            _needs("tired sick done exhausted fed weary over", group_words),
            _rx(
                rf"(?:{_TIRED}) (?:of|with) (?:living|being alive|existing|life itself|"
                rf"being on this earth|breathing|waking up|staying alive|this life|my life|"
                r"being me|life)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "desire",
            _MEDIUM,
            _needs("tired sick done exhausted fed weary over", group_words),
            _rx(
                rf"(?:i am|i) (?:{_TIRED}) (?:of|with) (?:everything|it all|all of this|all this|"
                r"trying|fighting|pretending to be okay)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "desire",
            _HIGH,
            _needs("end stop over finish done", group_words),
            _rx(
                r"(?:i|i just|i really|i honestly) " + _ADV + r"(?:want|wish|need|would like) "
                r"(?:it|this|everything|it all|all of this|all this|my life|life|the world|things|"
                r"all of it|everything all) (?:all |to all |just )?(?:to )?(?:end|stop|be over|"
                r"just end|finish|end now|be done)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "desire",
            _MEDIUM,
            _needs("pain hurting suffering voices", group_words),
            _rx(
                r"(?:i|i just|i really) " + _ADV + r"(?:want|wish|need) (?:the|this) (?:pain|"
                r"hurting|suffering|voices) to (?:stop|end|go away)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "desire",
            _HIGH,
            _needs("wish hope pray", group_words),
            _rx(
                r"(?:i|i just|i really) " + _ADV + r"(?:wish|hope|pray) (?:that )?(?:i|i would|"
                r"i will|i could) (?:do not |dont |never |not )?(?:die|died|was dead|were dead|"
                r"would die|was gone|were gone|could die|wake up|woke up|could disappear forever|"
                r"stop existing|never existed|never woke up|fall asleep and never wake up|"
                r"never wake up|get hit by a (?:car|bus|train)|had never been born|was never born|"
                r"were never born|had not been born|could just disappear|could just die)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "desire",
            _HIGH,
            _needs("die dead alive exist existing disappear forever wake gone heaven", group_words),
            _rx(
                r"(?:i|i just|i really|i honestly) " + _ADV + r"(?:want|need|wish|long|deserve) "
                r"(?:to )?(?:die|be dead|not be alive|not be here any more|not exist|stop existing|"
                r"disappear forever|sleep forever|never wake up|not wake up|be gone|go to sleep "
                r"forever|join (?:my|her|him) in heaven)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "desire",
            _HIGH,
            _needs("worth point reason", group_words),
            _rx(
                r"life (?:is|is not|isnt|aint) (?:not |no longer |just not )?worth (?:living|it "
                r"any more|it at all)|(?:no|what is the|whats the|there is no|theres no) point "
                r"(?:in |of )?(?:living|being alive|life|going on|existing|staying alive|me being "
                r"here|carrying on)|no reason to (?:live|stay alive|keep going|go on)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "desire",
            _HIGH,
            _needs("better happier", group_words),
            _rx(
                r"(?:everyone|everybody|they|my family|my friends|the world|my parents|my mum|"
                r"people) (?:would|will|would all) be (?:so much |much )?(?:better|happier) "
                r"(?:off )?(?:without me|if i (?:was|were) (?:dead|gone)|if i died)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "desire",
            _MEDIUM,
            _needs("burden worthless hopeless empty numb more longer", group_words),
            _rx(
                r"(?:i|i am|i feel) (?:just |such |like )?(?:a burden|worthless|hopeless|empty "
                r"inside|numb inside)|(?:i|i am|i just) (?:can not|cant|could not) (?:do|take|"
                r"handle|"
                r"cope with|deal with|bear) (?:this|it|life|anything|everything) any (?:more|"
                r"longer)"
            ),
        ),
        # --- self-harm: more acts, means and method-seeking ----------------------------------
        _Rule(
            SELF_HARM,
            "act",
            _HIGH,
            _needs("cut cutting burn burning sh overdose od unalive sewerslide", group_words),
            _rx(
                r"(?:i|i am|i have been|i have|i keep|i just|i really) "
                + _ADV
                + r"(?:cut|cutting|burn|burning|sh|self harm|overdose|od|overdosing|unalive|"
                r"unaliving|sewerslide)(?: again| so bad| so badly| tonight| today| right now|"
                r" rn| deeper| more| every night| on|$)"
            ),
            negatable=True,
        ),
        _Rule(
            SELF_HARM,
            "plan",
            _HIGH,
            _needs("pills pill tablets tablet box bottle packet paracetamol", group_words),
            _rx(
                r"(?:take|taking|swallow|swallowing|down|downing|neck|necking) (?:all|every|the "
                r"whole|a whole|loads of|all of) (?:my |the |of my |of the |these |those )?"
                r"(?:pills|pill|tablets|tablet|box|bottle|packet|paracetamol|meds|medication)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "plan",
            _HIGH,
            _needs("ending end", group_words),
            _rx(
                r"(?:thinking of|thinking about|think about|considering|going to|planning on|"
                r"plan on|want to|ready to|about to|gonna) (?:ending|end) (?:it all|it|my life|"
                r"things|everything|my own life)(?! with)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "method",
            _CRITICAL,
            _needs("way ways method methods pills bleed long", group_words),
            _rx(
                r"(?:easiest|quickest|best|painless|fastest|surest|quietest|simplest|most "
                r"painless) (?:way|ways|method|methods) to (?:kill|hang|off|end|unalive|"
                r"overdose|die|drown|suffocate)(?: (?:yourself|myself|your life|my life|it))?|"
                r"how many (?:pills|tablets|paracetamol) (?:would it take|does it take|to) "
                r"(?:to )?(?:die|kill|overdose|end)|how long (?:does it take|would it take|to) "
                r"(?:to )?(?:bleed out|die from|drown|suffocate|hang)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "desire",
            _HIGH,
            _needs("die dead wake notice care miss", group_words),
            _rx(
                r"(?:i|i am|i just|i really|i honestly) "
                + _ADV
                + r"(?:should|ready|prepared|rather|would rather|deserve|am ready|want|need|"
                r"wish) (?:to )?(?:just )?(?:die|be dead|die already)|(?:sleep|go to sleep|"
                r"fall asleep) and (?:never|not) wake up|(?:no one|everyone|anyone) would "
                r"(?:even )?(?:notice|care|miss me|be sad) if i (?:died|was dead|were dead|was "
                r"gone|were gone|disappeared|killed myself|was not here)"
            ),
        ),
        # --- self-harm: suicide said of oneself ------------------------------------------------
        _Rule(
            SELF_HARM,
            "suicide",
            _HIGH,
            _needs("suicide", group_words),
            _rx(
                r"(?:i|i am|i will|ill|i have|i had|i keep|i just|i really|me) "
                + _ADV
                + r"(?:commit|committing|commited|committed|attempt|attempting|attempted|do|"
                r"consider|considering|considered|contemplating|contemplate|thinking about|"
                r"thinking of|think about|thought about|plan|planning|planned|write|writing|"
                r"wrote|written|finish) (?:my )?(?:suicide|suicide note|suicide letter|"
                r"suicide plan)"
            ),
            negatable=True,
        ),
        _Rule(
            SELF_HARM,
            "suicide",
            _HIGH,
            _needs("suicidal suicide killing", group_words),
            _rx(
                r"(?:i|i am|i have been|i was|i get|i feel|i keep|feeling|i have|i had|i just) "
                r"(?:so |really |very |really really |been |feeling |getting |becoming |a bit |"
                r"kinda |kind of |quite |pretty |super |extremely |always |often |sometimes )*"
                r"(?:suicidal|suicidal thoughts|thoughts of suicide|thoughts of killing myself)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "suicide",
            _HIGH,
            _needs("suicide attempt overdose", group_words),
            _rx(
                r"my (?:suicide|suicide note|suicide plan|suicide letter|suicide attempt|"
                r"last attempt|overdose)"
            ),
        ),
        # --- self-harm: plans, means and farewells --------------------------------------------
        _Rule(
            SELF_HARM,
            "plan",
            _HIGH,
            _needs(
                "pills tablets paracetamol painkillers rope noose razor razors blades", group_words
            ),
            _rx(
                r"(?:i|i am|i have|i have been|i keep) " + _ADV + r"(?:saving|saved|stockpiling|"
                r"stockpiled|hoarding|collecting|collected|got|bought|buying|have) (?:up )?(?:my |"
                r"me |all |"
                r"enough |loads of |a lot of |some |the )?(?:pills|tablets|paracetamol|painkillers|"
                r"sleeping pills|rope|a rope|a noose|razor blades|razors|blades)(?: to| so| for|"
                r" and)?"
            ),
        ),
        _Rule(
            SELF_HARM,
            "plan",
            _HIGH,
            _needs("tonight tomorrow today weekend soon school asleep once good", group_words),
            _rx(
                r"(?:i|i am|i will|ill) "
                + _ADV
                + r"(?:end it|end it all|end things|finish it|do it) "
                r"(?:tonight|tomorrow|today|this weekend|soon|after school|when everyone is asleep|"
                r"once and for all|for good)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "plan",
            _HIGH,
            _needs("noose", group_words),
            _rx(r"(?:i|i am|i have) " + _ADV + r"(?:tied|tying|made|making|got) (?:a |the )?noose"),
        ),
        _Rule(
            SELF_HARM,
            "farewell",
            _HIGH,
            _needs(
                "last final read reads see sees find finds goodbye cruel tomorrow longer morning "
                "week tonight tell sorry",
                group_words,
            ),
            _rx(
                r"(?:this is|heres|here is|this will be|this is going to be) my (?:last|final) "
                r"(?:post|message|tweet|day|night|goodbye|note|video|text|words|week)|by the time "
                r"(?:you|anyone|someone|u) (?:read|reads|see|sees|find|finds) this|goodbye cruel "
                r"world|(?:i|i will) (?:will not|wont|will no longer|not) be (?:here|around|alive) "
                r"(?:tomorrow|much longer|for much longer|by tomorrow|by the morning|next week|"
                r"after tonight|to see)|(?:tell|please tell) my (?:mum|dad|family|parents|friends|"
                r"sister|brother) (?:i love them|that i love them|i am sorry|im sorry|that i am "
                r"sorry|i said goodbye)|(?:sorry|i am sorry) for everything goodbye|goodbye "
                r"(?:everyone|forever|all) (?:i love you|i am sorry|sorry|i will miss you)"
            ),
        ),
        _Rule(
            SELF_HARM,
            "farewell",
            _MEDIUM,
            _needs("goodbye deal worry put see", group_words),
            _rx(
                r"goodbye forever|(?:you|everyone) (?:will not|wont) have to (?:deal with|worry "
                r"about|put up with|see) me (?:any more|again|much longer)"
            ),
        ),
        # --- bullying: second person -----------------------------------------------------------
        _Rule(
            BULLYING,
            "incitement",
            _HIGH,
            _needs("yourself yourselves self", group_words),
            _rx(
                rf"(?:go|go and|just|please|why do you not|why dont you|you should|you need to|"
                rf"do us a favour and|do everyone a favour and|pls|plz|go on|can you|you could|"
                rf"i hope you|i want you to|you ought to)?\s?(?:{_YOURSELF_VERB}) "
                r"(?:yourself|yourselves|your self)"
            ),
            negatable=True,
        ),
        _Rule(
            BULLYING,
            "incitement",
            _HIGH,
            _needs(
                "die dies died cancer rot burn raped choke drown wake suffer dead exist alive "
                "disappear shot killed bleach traffic hit better miss cry care favour",
                group_words,
            ),
            _rx(
                r"(?:i hope|hope|i wish|wish) (?:that )?(?:you|your family|your mum) (?:die|dies|"
                r"died|get cancer|gets cancer|get hit by|rot|burn|get raped|gets raped|choke|drown|"
                r"never wake up|suffer|go die)|(?:you|u) (?:should|need to|ought to|deserve to) "
                r"(?:just )?(?:die|be dead|not exist|not be alive|disappear|rot|be raped|get raped|"
                r"get cancer|suffer|be shot|be killed)|(?:go|go and|just go|go on and) "
                r"(?:die|drink bleach|jump off a (?:bridge|cliff|building)|play in traffic|"
                r"get hit by a (?:car|bus|train)|choke)|drink bleach|"
                r"(?:the )?world (?:would|will) be (?:a )?better (?:place )?without you|"
                r"(?:no one|everyone) (?:would|will) (?:miss|cry for|care if) you (?:die|died|"
                r"were dead|was dead|left|are gone)?|do (?:everyone|us all|the world|us) a "
                r"favour and (?:die|disappear|leave|kill yourself)"
            ),
            negatable=True,
        ),
        _Rule(
            BULLYING,
            "threat",
            _MEDIUM,
            _needs(
                "kill stab beat batter smash punch hurt shank slap bang jump murder break bash "
                "knock find get back live dead battered jumped",
                group_words,
            ),
            _rx(
                r"(?:i|i am|i will|ill|we|we will|we are|im) " + _ADV + r"(?:kill|stab|beat|"
                r"beat up|batter|smash|punch|hurt|shank|slap|bang|jump|murder|break|bash|knock "
                r"out|find|get) (?:you|your face|your head|your legs|your mum)(?: in| up| after|"
                r" at|"
                r" when| tomorrow| tonight| outside|$)|watch your back|(?:i|we) know where you "
                r"live|you are (?:dead|so dead|getting battered|getting jumped) (?:tomorrow|after "
                r"school|at break|at lunch|when i see you)"
            ),
        ),
        _Rule(
            BULLYING,
            "insult",
            _MEDIUM,
            _needs("@INSULT", group_words),
            _rx(rf"(?:{_YOU_ARE}) {_INTENS}(?:{_INSULT_ADJ}|{_INSULT_NOUN})"),
        ),
        _Rule(
            BULLYING,
            "appearance",
            _MEDIUM,
            _needs("@APPEARANCE", group_words),
            _rx(rf"(?:{_APPEARANCE}) {_INTENS}(?:{_APPEARANCE_NOUN})"),
        ),
        _Rule(
            BULLYING,
            "appearance",
            _MEDIUM,
            _needs("look looks looking face body nose teeth hair skin", group_words),
            _rx(
                r"(?:look|looks|looking) like (?:a |an )?(?:pig|whale|hippo|cow|troll|monkey|"
                r"ape|rat|dog|potato|thumb|man|boy|lesbian)|(?:your|you have a|ur) (?:face|body|"
                r"nose|teeth|hair|skin) (?:is|looks) (?:so |really )?(?:ugly|disgusting|gross|"
                r"fat|weird|minging|horrible|like)"
            ),
        ),
        _Rule(
            BULLYING,
            "isolation",
            _MEDIUM,
            _needs(
                "likes like loves love wants cares care hates hate laughs laughing talks thinks "
                "friends mates life date miss wishes wish",
                group_words,
            ),
            _rx(
                r"(?:no one|nobody|everyone|everybody|the whole school|the whole class|all of us|"
                r"we all|literally everyone) (?:likes|like|loves|love|wants|cares about|care about|"
                r"hates|hate|laughs at|is laughing at|talks about|thinks) you|you (?:have|got|"
                r"have got) no (?:friends|mates|life)|(?:no one|nobody) (?:would|will|is going "
                r"to|wants to) (?:ever )?(?:love|date|like|miss|be friends with) you|"
                r"(?:everyone|we all|everybody) (?:wishes|wish|would be happy if) you (?:were|was) "
                r"(?:dead|gone)"
            ),
        ),
        _Rule(
            BULLYING,
            "gendered",
            _MEDIUM,
            _needs(
                "kitchen good shut place heard obey deserve deserves deserved asking like sleep "
                "sleeps slept",
                group_words,
            ),
            _rx(
                r"(?:get back|go back|belong|belongs|should stay|stay) (?:in|to) (?:the|your) "
                r"kitchen|(?:women|girls|females|woman|she|her|you) (?:are|is|r) (?:only )?good "
                r"for (?:nothing|one thing|sex|cooking|cleaning)|(?:women|girls|females) "
                r"(?:should|need to|must) (?:shut up|know their place|be seen and not heard|obey)|"
                r"(?:she|you|girls like you|sluts like you|women) (?:deserve|deserves|deserved|was "
                r"asking) (?:to be raped|to get raped|it|for it)|(?:slut|slag|whore|skank|hoe|"
                r"thot)s? "
                r"like (?:you|her)|(?:you|she) (?:sleep|sleeps|slept) (?:around|with everyone)"
            ),
        ),
        # --- about a group: dehumanising (both libraries) --------------------------------------
        _Rule(
            EXTREMISM,
            "dehumanising",
            _HIGH,
            _needs("@GROUP", group_words),
            _rx(rf"{group} {_GROUP_COPULA} {_GROUP_FILLER}(?:{_GROUP_PRED_SEVERE})"),
        ),
        _Rule(
            EXTREMISM,
            "dehumanising",
            _MEDIUM,
            _needs("@GROUP", group_words),
            _rx(rf"{group} {_GROUP_COPULA} {_GROUP_FILLER}(?:{_GROUP_PRED_MILD})"),
        ),
        _Rule(
            EXTREMISM,
            "dehumanising",
            _HIGH,
            _needs("@GROUP", group_words),
            _rx(
                rf"{group} (?:should|must|need to|deserve to|ought to|have to|will|are going to) "
                rf"(?:all )?(?:{_GROUP_FATE})|(?:kill|gas|deport|ban|exterminate|shoot|hang|burn|"
                rf"get rid of|wipe out|eradicate) (?:all |all the |the |every |these )?{group}"
            ),
        ),
    )


_COUNTER_SPEECH = re.compile(
    r"(?:not all|not every|not|no|stereotype that|stereotype of|myth that|myths about|"
    r"why do people "
    r"think|why do people say|is it true that|is it racist to say|is it wrong to say|wrong to say|"
    r"stop saying|stop calling|called me|call me|calls me|called us|say that|said that|says that|"
    r"think that|claim that|claims that)\s(?:\S+\s){0,2}$"
)
_NEGATOR = re.compile(
    r"(?<![a-z])(?:not|never|no one should|do not|dont|please do not|please dont|"
    r"would not|will not|wont|did not|can not|should not|must not|no)\s"
    r"(?:(?:ever|want to|wanting to|going to|gonna|try to|going to ever|even|actually|really|"
    r"think about|thinking about|to|you|planning to|plan to|need to|have to|wish to|let|"
    r"let yourself|feel like|ever want to)\s){0,3}$"
)
_DOUBLE_NEGATIVE = re.compile(r"^(?:can not|could not|do not|never|not) (?:stop|help|resist)")
_ACT_IDIOM = re.compile(
    r"^(?:(?:\S+ ){0,2}(?:laughing|lmao|lmfao|haha|with laughter|so hard laughing)|"
    r"(?:my|your|her|his|their|ur) (?:hair|roots|fringe|eyebrows))"
)

# Concern for someone else: care for a person at risk, or asking how to help them.
_AT_RISK = (
    r"(?:kill|killing|hurt|hurting|harm|harming|cut|cutting|hang|hanging|starve|starving|"
    r"end|ending|off|offing|unalive|unaliving|burn|burning|overdose|overdosing) "
    r"(?:himself|herself|themselves|themself|yourself|urself|their life|his life|her life|"
    r"your life)|suicid|self harm|self harms|self harming|self injur|sh scars|cuts (?:himself|"
    r"herself|themselves)|(?:wants|want|wanted) to die|(?:is|are|seems|seemed) depressed|"
    r"overdose|eating disorder|anorexi|bulimi|not eating|stopped eating|starving"
)
_CONCERN = (
    _rx(
        r"(?:please|please please|i beg you|you should|you must|you can|never ever|plz)?\s?"
        r"(?:do not|dont|never|no need to|you do not have to|you dont have to|you should not|"
        r"you must not|please do not|please stop|stop|quit) (?:ever |even think about |go and |"
        r"do anything to )?"
        r"(?:kill|hurt|harm|cut|end|unalive|off|starve|hang|killing|hurting|harming|cutting|"
        r"ending|starving) (?:yourself|urself|your life|"
        r"yourselves)"
    ),
    re.compile(
        r"(?<![a-z])(?:my|a|our|one of my|her|his|their) (?:best )?(?:friend|friends|sister|"
        r"brother|cousin|girlfriend|boyfriend|gf|bf|classmate|classmates|son|daughter|partner|"
        r"mum|dad|pupil|student|child|kid|teammate|flatmate|housemate|student|peer)\b.{0,60}"
        rf"(?:{_AT_RISK})"
    ),
    re.compile(
        r"(?<![a-z])(?:how (?:do|can|should|to|would) (?:i |we |you )?|ways to |what to do "
        r"(?:if|when) |what should i do (?:if|when) |i am worried |worried about |i want to "
        r"help |help me help |help |support |supporting |talk to |talking to |"
        r"(?:i think|i am scared|i am worried) (?:that )?)"
        r"(?:help|support|talk to|stop|save|reach out to|look after|be there for|comfort|"
        r"a|my|someone|somebody|a friend|my friend|him|her|them|someone who|a person who|"
        r"a child who|a pupil who|a student who|people who|he|she|they)\b.{0,60}"
        rf"(?:{_AT_RISK})"
    ),
    re.compile(
        r"(?<![a-z])(?:he|she|they) (?:is|are|keeps|keep|has been|have been|said|says|told me|"
        rf"wants|want|tried|is trying|might|may|is going|are going)\b.{{0,40}}(?:{_AT_RISK})"
    ),
    _rx(
        r"you are not alone|you matter|(?:you are|youre) loved|please (?:stay|talk to "
        r"someone|reach out|get help|call|text)|stay safe|(?:i am|we are) here for you|"
        r"(?:your|ur) life (?:matters|is worth living)|it gets better|things will get better"
    ),
)
_CARE_ONLY = 4  # _CONCERN[4] is supportive wording: concern only next to an at-risk phrase
_AT_RISK_RX = re.compile(_AT_RISK)


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_AT_RISK_WORDS = _word_set(
    "yourself urself yourselves himself herself themselves themself life suicide suicidal "
    "suicides harm harms harming die depressed overdose overdosing anorexia anorexic bulimia "
    "bulimic eating starving injury injuring injures cuts sh scars"
)

_ORG_SUPPORT = _rx(
    r"support|supports|supporting|supporter|supporters|i support|join|joining|joined|"
    r"recruit|recruits|recruiting|recruiter|recruitment|recruiters|propaganda|video|videos|"
    r"flag|flags|nasheed|nasheeds|pledge|pledged|allegiance|bayah|baya|hijrah|long live|"
    r"glory to|victory to|heroes|hero|brothers|martyr|martyrs|martyrdom|love|loves|is right|"
    r"are right|was right|did nothing wrong|fight for|fighting for|become|becoming|"
    r"member|members|membership|contact|magazine|manifesto|telegram|channel|donate|"
    r"donation|uniform|merch|anthem|salute|stand with|praise|praising|mujahid|mujahideen|"
    r"jihad|caliphate|khilafah|baqiyah|remaining and expanding|soldier of|soldiers of|"
    r"fighter|fighters|i want to|how do i|how can i|where can i|recruiting|beheading|"
    r"execution|executions|sign up|apply|application|wallpaper|song|songs|speech|speeches|"
    r"based|goat|king|kings|legend|legends|based"
)


def read(words: str, group_words: frozenset[str]) -> Reading:
    """The intent statements, negations and concern in canonical `words`."""
    hits: list[IntentHit] = []
    negated: list[IntentHit] = []
    rules, index = _indexed_rules(group_words)
    present = words.split(" ")
    candidates: set[int] = set()
    for word in present:
        found = index.get(word)
        if found:
            candidates.update(found)
    for i in sorted(candidates):
        rule = rules[i]
        for match in rule.pattern.finditer(words):
            hit = IntentHit(rule.library, rule.family, match.group(0).strip(), rule.severity)
            if _dismissed(rule, words, match):
                continue
            if rule.negatable and _is_negated(words, match.start()):
                negated.append(hit)
            else:
                hits.append(hit)
    concern = not _AT_RISK_WORDS.isdisjoint(present) and _concern(words)
    return Reading(tuple(hits), tuple(negated), concern)


def organisation_support(words: str) -> bool:
    """Whether canonical `words` have words of support, joining or propaganda."""
    return _ORG_SUPPORT.search(words) is not None


@functools.cache
def _indexed_rules(
    group_words: frozenset[str],
) -> tuple[tuple[_Rule, ...], dict[str, tuple[int, ...]]]:
    """The rules, and for each prefilter word the rules that need it."""
    rules = _rules(group_words)
    index: dict[str, list[int]] = {}
    for i, rule in enumerate(rules):
        for word in rule.needs:
            index.setdefault(word, []).append(i)
    return rules, {word: tuple(found) for word, found in index.items()}


def _dismissed(rule: _Rule, words: str, match: re.Match[str]) -> bool:
    """Idioms and counter-speech the pattern would otherwise catch."""
    if rule.family in ("act", "desire"):
        return is_idiom(words, match.group(0))  # "killing myself laughing"
    if rule.family == "dehumanising":
        return _COUNTER_SPEECH.search(words[: match.start()]) is not None
    return False


_CUT_IDIOM = re.compile(
    r"(?:cut|cutting|burn|burnt|burned) myself (?:on|with a knife while|"
    r"shaving|cooking|by accident|accidentally)|(?:cut|cutting) myself "
    r"(?:off|some slack|a slice|a piece)"
)


def is_negated(words: str, phrase: str) -> bool:
    """Whether every occurrence of `phrase` in canonical `words` is directly negated."""
    start = words.find(phrase)
    if start < 0:
        return False
    while start >= 0:
        if not _is_negated(words, start):
            return False
        start = words.find(phrase, start + 1)
    return True


def _is_negated(words: str, start: int) -> bool:
    window = words[max(0, start - 60) : start]
    match = _NEGATOR.search(window)
    if match is None or window[: match.start()].endswith("why "):
        return False
    return not _DOUBLE_NEGATIVE.search(window[match.start() :])


def is_idiom(words: str, phrase: str) -> bool:
    """Whether `phrase` (a self-harm act) is used as an idiom ("killing myself laughing",
    "cut myself shaving") everywhere it occurs in canonical `words`."""
    start = words.find(phrase)
    if start < 0:
        return False
    tail = words[start + len(phrase) :].lstrip() + " "
    if _ACT_IDIOM.match(tail):
        return True
    injury = any(word in phrase.split() for word in ("cut", "cutting", "burn", "burnt", "burned"))
    return injury and _CUT_IDIOM.search(words) is not None


def _concern(words: str) -> bool:
    for i, pattern in enumerate(_CONCERN):
        if pattern.search(words) and (i != _CARE_ONLY or _AT_RISK_RX.search(words)):
            return True
    return False
