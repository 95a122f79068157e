"""Who made each data set inkrec knows, under which terms, and how to cite it.

One table for every place that credits data: the download manifests, the metadata and cards of exported
models (and so the page and `GET /v1/models`).
"""

from __future__ import annotations

from pathlib import Path

# Who made the data, under which terms, how to cite it, and so under which terms the weights trained on it are
# given: the first matching entry wins, matched against the data set's source and path as the run recorded
# them. Weights learned from a data set are treated as an adaptation of it: they carry the data's licence
# (share-alike included), and where the data's publisher states no licence, no more than its publisher allows.
TERMS: list[tuple[tuple[str, ...], dict[str, str]]] = [
    (
        ("synth:hanzi",),
        {
            "name": "inkrec's Chinese handwriting synthesizer (hanzi-writer-data stroke medians, handwriting fonts)",
            "license": "Arphic Public License (hanzi-writer-data / Make Me a Hanzi, AR PL Kai fonts); "
            "SIL OFL 1.1 (LXGW WenKai, Klee One); Taiwan Open Government Data License 1.0 (TW-Kai); "
            "BSD-3-Clause (kiloji); public domain (Aoyagi Kouzan's fonts)",
            "attribution": "Stroke medians from hanzi-writer-data (Make Me a Hanzi by Shaunak Kishore, derived "
            "from Arphic Technology's AR PL fonts, Arphic Public License); glyphs of AR PL UKai and KaitiM "
            "(Arphic Public License), LXGW WenKai (SIL OFL 1.1), TW-Kai (Taiwan's Ministry of Education "
            "CNS11643 fonts, Open Government Data License 1.0), kiloji (© 2007 kilo, BSD-3-Clause), Klee One "
            "(© 2020 The Klee Project Authors, SIL OFL 1.1) and Kouzan Aoyagi's Aoyagi Soseki, Aoyagi Kouzan T "
            "and Kouzan Mouhitsu (public domain).",
            "citation": "Make Me a Hanzi, https://github.com/skishore/makemeahanzi; hanzi-writer-data, "
            "https://github.com/chanind/hanzi-writer-data.",
            "weights_license": "Arphic Public License (the weights are learned from Arphic-licensed stroke "
            "data and glyphs: keep the licence with them)",
        },
    ),
    (
        ("quickdraw", "quick-draw", "quick_draw", "sketchrnn"),
        {
            "name": "Quick, Draw!",
            "license": "CC BY 4.0",
            "attribution": "Quick, Draw! data set by Google (https://quickdraw.withgoogle.com/data), "
            "licensed under CC BY 4.0.",
            "citation": "Google Creative Lab, \"The Quick, Draw! Dataset\", "
            "https://github.com/googlecreativelab/quickdraw-dataset (2017), CC BY 4.0.",
            "weights_license": "CC BY 4.0 (as the Quick, Draw! data: credit Google's Quick, Draw! data set)",
        },
    ),
    (
        ("chinese-mnist", "chinese_mnist"),
        {
            "name": "Chinese MNIST",
            "license": "no licence stated by its publisher; attribution requested",
            "attribution": "Chinese MNIST: handwritten Chinese numerals collected at Newcastle University "
            "(K. Nazarpour and M. Chen), published by Gabriel Preda.",
            "citation": "Gabriel Preda, \"Chinese MNIST\" (2020), data collected in a project at Newcastle "
            "University by K. Nazarpour and M. Chen.",
            "weights_license": "no licence beyond the data's: its publisher states none, so the weights are "
            "for research and demonstration, crediting the data's makers; ask them before other use",
        },
    ),
    (
        ("tchd", "traditional-chinese-handwriting", "cleaned_data", "all_data.zip", "handwritting_data_all"),
        {
            "name": "Traditional Chinese Handwriting Dataset",
            "license": "CC BY-NC-SA 4.0",
            "attribution": "Traditional Chinese Handwriting Dataset by AI . FREE Team "
            "(https://github.com/AI-FREE-Team/Traditional-Chinese-Handwriting-Dataset), developed from the "
            "STUST EECS Chinese MNIST handwriting set of the Dept. of EECS, Southern Taiwan University of "
            "Science and Technology; CC BY-NC-SA 4.0.",
            "citation": "Po-Chuan Chen, \"Traditional Chinese Handwriting Dataset\", AI . FREE Team, GitHub "
            "repository AI-FREE-Team/Traditional-Chinese-Handwriting-Dataset (2020).",
            "weights_license": "CC BY-NC-SA 4.0 (as the data: non-commercial use only, credit AI . FREE Team "
            "and STUST, share adaptations under the same licence)",
        },
    ),
    (
        ("casia", "hwdb", "olhwdb"),
        {
            "name": "CASIA Online and Offline Chinese Handwriting Databases",
            "license": "free for academic research (CASIA's terms); no commercial use without CASIA's consent",
            "attribution": "CASIA-HWDB / CASIA-OLHWDB, National Laboratory of Pattern Recognition, Institute "
            "of Automation, Chinese Academy of Sciences (http://www.nlpr.ia.ac.cn/databases/handwriting/).",
            "citation": "C.-L. Liu, F. Yin, D.-H. Wang, Q.-F. Wang, \"CASIA Online and Offline Chinese "
            "Handwriting Databases\", Proc. 11th ICDAR, pp. 37-41 (2011).",
            "weights_license": "for academic research only, as the data: cite CASIA's paper; ask CASIA before "
            "other use",
        },
    ),
    (
        ("tegaki",),
        {
            "name": "Tegaki handwriting samples",
            "license": "GPL-2.0-or-later",
            "attribution": "Handwriting samples of the Tegaki project (https://tegaki.github.io/), "
            "GPL-2.0-or-later.",
            "citation": "The Tegaki project, handwriting models and samples, https://github.com/tegaki "
            "(2008-2010), GPL-2.0-or-later.",
            "weights_license": "GPL-2.0-or-later (as the Tegaki samples)",
        },
    ),
    (
        ("fashion-mnist", "fashion_mnist"),
        {
            "name": "Fashion-MNIST",
            "license": "MIT",
            "attribution": "Fashion-MNIST, Zalando Research (https://github.com/zalandoresearch/fashion-mnist), MIT.",
            "citation": "H. Xiao, K. Rasul, R. Vollgraf, \"Fashion-MNIST: a Novel Image Dataset for Benchmarking "
            "Machine Learning Algorithms\", arXiv:1708.07747 (2017).",
            "weights_license": "MIT (as the Fashion-MNIST data: keep Zalando's copyright notice)",
        },
    ),
    (
        ("kmnist", "kuzushiji"),
        {
            "name": "Kuzushiji-MNIST",
            "license": "CC BY-SA 4.0",
            "attribution": '"KMNIST Dataset" (created by CODH), adapted from "Kuzushiji Dataset" (created by NIJL '
            "and others), doi:10.20676/00000341, CC BY-SA 4.0.",
            "citation": "T. Clanuwat, M. Bober-Irizar, A. Kitamoto, A. Lamb, K. Yamamoto, D. Ha, \"Deep Learning "
            "for Classical Japanese Literature\", arXiv:1812.01718 (2018).",
            "weights_license": "CC BY-SA 4.0 (as the KMNIST data, share-alike)",
        },
    ),
    (
        ("emnist",),
        {
            "name": "EMNIST",
            "license": "NIST public data (NIST Special Database 19)",
            "attribution": "EMNIST by Gregory Cohen, Saeed Afshar, Jonathan Tapson and André van Schaik "
            "(Western Sydney University), derived from NIST Special Database 19.",
            "citation": "G. Cohen, S. Afshar, J. Tapson, A. van Schaik, \"EMNIST: an extension of MNIST to "
            "handwritten letters\", arXiv:1702.05373 (2017).",
            "weights_license": "as the data: NIST public data, crediting EMNIST's authors",
        },
    ),
    (
        ("mnist",),
        {
            "name": "MNIST",
            "license": "CC BY-SA 3.0",
            "attribution": "MNIST handwritten digits by Yann LeCun and Corinna Cortes "
            "(with Christopher J.C. Burges), available under CC BY-SA 3.0.",
            "citation": "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, \"Gradient-based learning applied to "
            "document recognition\", Proceedings of the IEEE 86(11):2278-2324 (1998).",
            "weights_license": "CC BY-SA 3.0 (as the MNIST data, share-alike: credit MNIST's makers, and share "
            "adaptations under the same licence)",
        },
    ),
]


def dataset_terms(source: str | None, path: str | None) -> dict[str, str]:
    """Name, licence, attribution, citation and the weights' licence for the data a model was trained on
    (empty strings if the data set is not one inkrec knows)."""
    hay = f"{source or ''} {path or ''}".lower()
    for needles, terms in TERMS:
        if any(n in hay for n in needles):
            return dict(terms)
    return {"name": Path(path).name if path else (source or ""), "license": "", "attribution": "",
            "citation": "", "weights_license": ""}
