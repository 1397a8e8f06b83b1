"""The self-test's texts in English and French: a catalogue of message and fix templates.

A check is made once, with a message id and named parameters (`report.check`); its `message`
and `fix` are rendered from the templates of the report's language:

    render_message("camera_frame_rate", "fr", {"fps": 4.5, "configured_fps": 15})
    # "4,5 images/s, la moitié des 15 configurées ou moins"

- `MESSAGES[lang][id]`: message templates, keyed by a message id (the check's code, or the
  code and a variant: `no_data.interactive`).
- `FIXES[lang][id]`: fixes more precise than the generic one of the code (they name the device
  or the value to set); the generic fixes are `reasons.CHECKS` (English) and
  `reasons.CHECKS_FR` (French), returned by `generic_fix`.
- `LABELS[lang][id]`: the words of the command's tables (headers, titles, verdicts).

Templates are `str.format` templates with named fields (and format specs such as `{ms:.1f}`);
French renders decimal numbers with a comma. Both languages have the same ids and the same
fields (a test keeps them in step). Config keys, commands, file names and codes are never
translated. `language_from_environ` picks the language from the system locale.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any, Literal

from scanner_agent.selftest.reasons import CHECKS, CHECKS_FR

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")

Params = dict[str, str | int | float]
"""A check's parameters: what its message and fix are made of (in the report's JSON)."""

_NO_ROC_EN = "in supervised production, no AMC is then handled in ROC"
_NO_ROC_FR = "en production sous surveillance, aucune AMC ne passe alors en ROC"

MESSAGES: dict[Lang, dict[str, str]] = {
    "en": {
        # agent level (internal)
        "config_ok": "configuration read from {sources}",
        "config_invalid": "{error}",
        "layouts_loaded": "{count} layout(s): {names}",
        "layouts_invalid": "{error}",
        "referential_loaded": "AMC referential {path}: {amcs} AMC(s) in {lines} line(s), "
        "updated {updated} ({age} day(s) ago)",
        "referential_loaded.undated": "AMC referential {path}: {amcs} AMC(s) in {lines} "
        "line(s), no `updated` date",
        "referential_invalid": "{error}",
        "referential_stale": "the AMC referential was updated {updated}, {age} days ago (more "
        "than parser.referential_max_age_days = {max_age}): every decision asks to check",
        "testcard_parsed": "the {count} test-card codes parse as designed",
        "testcard_not_parsed": "test-card codes parse wrongly (code: expected → got): {wrong}",
        "decoder_ok": "a test-card symbol decoded in {ms:.1f} ms",
        "decoder_failed": "a test-card symbol was not decoded",
        "decoder_failed.error": "the decoders failed: {error}",
        "libdmtx_missing": "libdmtx (the second-opinion decoder) cannot be loaded",
        "storage_ok": "storage reachable: {where}",
        "storage_ok.live": "storage {state}: {where}",
        "storage_unavailable": "storage {where}: {error}",
        "storage_unavailable.live": "storage {where}: {error}; {pending} scan(s) wait in memory",
        "no_devices": "no device is configured (or all are disabled)",
        # the ROC roll-out phase ({phase}: the desk's words, in French)
        "roc_phase.trust_circle": "ROC phase: {phase} (the AMC referential decides, AMC by AMC)",
        "roc_phase.supervised": "ROC phase: {phase} (the other AMCs are not ROC, reason "
        "supervised_production)",
        "roc_phase.not_started": "ROC phase: {phase} (every AMC is not ROC, reason "
        "roc_not_started)",
        "roc_phase_not_reloaded": "The changed [roc] section could not be read again: the phase "
        "above stays in use. {error}",
        "roc_mirror_unknown": "The mirror AMC {mirror} is not in the local AMC referential: "
        + _NO_ROC_EN,
        "roc_mirror_not_connected": "The mirror AMC {mirror} ({name}) is connected to ROC in "
        "the local AMC referential on {date} for no activity (reason {reason}): " + _NO_ROC_EN,
        # device level
        "device_disabled": "disabled in the configuration: not tested",
        "device_disabled.live": "disabled in the configuration",
        "device_present.node": "{node} is there and may be opened",
        "device_present.inventory": "found as {node}",
        "device_not_found.node": "{node} does not exist",
        "device_not_found.usb": "no plugged-in device matches USB id {usb_id}",
        "device_not_found.usb_serial": "no plugged-in device matches USB id {usb_id} serial "
        "{serial}",
        "device_not_found.usage_page": "no plugged-in device matches usage page {usage_page}",
        "device_not_found.usage_page_serial": "no plugged-in device matches usage page "
        "{usage_page} serial {serial}",
        "device_not_found.error": "{error}",
        "permission_denied.node": "this user may not open {node}",
        "permission_denied.error": "{error}",
        "device_busy.error": "{error}",
        "device_error.error": "{error_code}: {error}",
        "device_error.selftest": "the self-test failed: {error}",
        "device_error.state": "the device is {state}",
        "opened": "opened: {description}",
        "live_state": "held open by the agent: {description}",
        "not_measured_live": "the frame rate and decode time are measured by `scanner-agent "
        "selftest` with the agent stopped (the running agent holds the camera)",
        "keyboard_mode": "the scanner is read in keyboard mode (layout '{layout}'): GS "
        "separators are lost and the keyboard layout must match",
        "keyboard_mode.live": "the scanner is read in keyboard mode (layout '{layout}')",
        "keyboard_mode.windows": "the scanner is read in keyboard mode through Raw Input "
        "(layout '{layout}'): Raw Input only listens, so the keys still reach the focused "
        "window; GS separators are lost and the keyboard layout must match",
        "keyboard_mode.live_windows": "the scanner is read in keyboard mode through Raw Input "
        "(layout '{layout}'): the keys still reach the focused window",
        "keyboard_collection_exclusive.hid_keyboard": "on Windows, a keyboard-mode scanner "
        'cannot be read through hidapi (backend = "{backend}"): Windows opens keyboard '
        "collections exclusively, nothing would arrive",
        "keyboard_collection_exclusive.hid_pos": "{node} is a keyboard collection (usage page "
        "0x01, usage 0x06), the scanner is in keyboard mode: on Windows hidapi cannot read it "
        "(Windows opens keyboard collections exclusively)",
        "keyboard_layout_mismatch": "the scanner types with the '{layout}' keyboard layout, not "
        "'{configured}': set layout = \"{layout}\" for device '{device}' (or set the scanner to "
        "'{configured}' with its setup codes)",
        "keyboard_layout_mismatch.other": "{detail}",
        # what a device sent
        "no_data.interactive": "nothing arrived within {seconds:.0f} s",
        "no_data.external": "opened and read for {seconds:.1f} s: nothing was scanned meanwhile "
        "(expected; scan the test card with --interactive to check reading)",
        "no_data.live": "nothing scanned since the agent started",
        "codes_read": "{count} code(s) read, {well_formed} well-formed attestation(s)",
        "codes_read.live": "{well_formed} well-formed, {refused} refused since the agent started",
        "codes_refused": "{count} code(s) refused: {errors}",
        "idle_framing": "the scanner ends its codes with {sent} but the device uses idle framing "
        "(suffix = none)",
        "wrong_suffix": "the scanner ends its codes with {sent}, the device is configured for "
        "{configured}",
        "wrong_suffix.never_ends": "the scanner ends its codes with {sent}, the device is "
        "configured for {configured}: codes never end",
        "wrong_suffix.crlf": "the scanner ends its codes with CR LF, the device is configured "
        "for CR: each LF is left over before the next code",
        "wrong_suffix.inside": "line ends are left inside codes: the scanner sends another "
        "suffix than the configured one",
        "frame_never_ends": "{count} byte(s) arrived and no {suffix} ever ended a code",
        "frame_never_ends.keys": "keys arrived that no Enter (or Tab) ended: the scanner sends "
        "another suffix",
        "noise": "{count} byte(s) before codes belonged to no code",
        "aim_present": "AIM identifiers sent: {names}",
        "aim_missing": "the scanner sends no AIM symbology identifier (]d1) before its codes",
        "separators_lost": "GS separators were lost; fields were cut at their tags",
        "frames_dropped": "{count} frame(s) dropped (too long)",
        "frames_dropped.live": "{count} frame(s) dropped",
        # cameras
        "camera_no_frames": "no frame within {seconds:.1f} s",
        "camera_measured": "{width}x{height} at {fps:.1f} frames/s (configured "
        "{configured_fps:g}); decoding {mean_ms:.1f} ms a frame on average, {max_ms:.1f} ms at "
        "most",
        "camera_resolution": "the camera gives {width}x{height}, the configuration asks "
        "{configured_width}x{configured_height}",
        "camera_frame_rate": "{fps:.1f} frames/s, half the configured {configured_fps:g} or less",
        "camera_decode_slow": "decoding takes {mean_ms:.0f} ms a frame, more than the "
        "{interval_ms:.0f} ms between frames",
        "camera_decode_slow.skipped": "decoding is slower than the camera: {skipped} of "
        "{frames} frames skipped, {decode_fps:.1f} decoded a second, {mean_ms:.0f} ms a frame",
        # the test card
        "testcard_complete": "the test card's attestations read in {complete_s:.1f} s (first "
        "code after {first_s:.1f} s)",
        "testcard_incomplete": "not read within {seconds:g} s: the {missing} attestation(s) of "
        "the card",
        "testcard_outcome": "test-card codes not read or refused as designed (code: expected → "
        "got): {wrong}",
        "unexpected_code": "{count} code(s) that are not on the test card arrived",
        # the operator's prompt (interactive level)
        "prompt.scan_card": "device '{device}' is open: scan the test card now (every "
        "attestation, codes 1 to 6), within {seconds:g} s",
    },
    "fr": {
        # agent level (internal)
        "config_ok": "configuration lue depuis {sources}",
        "config_invalid": "configuration illisible : {error}",
        "layouts_loaded": "{count} format(s) de code : {names}",
        "layouts_invalid": "formats de code illisibles : {error}",
        "referential_loaded": "référentiel AMC {path} : {amcs} AMC sur {lines} ligne(s), mis à "
        "jour le {updated} (il y a {age} jour(s))",
        "referential_loaded.undated": "référentiel AMC {path} : {amcs} AMC sur {lines} "
        "ligne(s), sans date `updated`",
        "referential_invalid": "référentiel AMC illisible : {error}",
        "referential_stale": "le référentiel AMC a été mis à jour le {updated}, il y a {age} "
        "jours (plus que parser.referential_max_age_days = {max_age}) : chaque décision "
        "demande une vérification",
        "testcard_parsed": "les {count} codes de la carte de test sont interprétés comme prévu",
        "testcard_not_parsed": "des codes de la carte de test sont mal interprétés (code : "
        "attendu → obtenu) : {wrong}",
        "decoder_ok": "un code de la carte de test décodé en {ms:.1f} ms",
        "decoder_failed": "un code de la carte de test n'a pas été décodé",
        "decoder_failed.error": "les décodeurs ont échoué : {error}",
        "libdmtx_missing": "libdmtx (le décodeur de second avis) ne peut pas être chargée",
        "storage_ok": "stockage joignable : {where}",
        "storage_ok.live": "stockage {state} : {where}",
        "storage_unavailable": "stockage {where} : {error}",
        "storage_unavailable.live": "stockage {where} : {error} ; {pending} scan(s) en attente "
        "en mémoire",
        "no_devices": "aucun appareil n'est configuré (ou tous sont désactivés)",
        # the ROC roll-out phase
        "roc_phase.trust_circle": "Phase ROC : {phase} (le référentiel AMC décide, AMC par AMC)",
        "roc_phase.supervised": "Phase ROC : {phase} (les autres AMC sont hors ROC, motif "
        "supervised_production)",
        "roc_phase.not_started": "Phase ROC : {phase} (toutes les AMC sont hors ROC, motif "
        "roc_not_started)",
        "roc_phase_not_reloaded": "La section [roc] modifiée n'a pas pu être relue : la phase "
        "ci-dessus reste appliquée. {error}",
        "roc_mirror_unknown": "L'AMC miroir {mirror} est absente du référentiel AMC local : "
        + _NO_ROC_FR,
        "roc_mirror_not_connected": "L'AMC miroir {mirror} ({name}) n'est connectée à ROC dans "
        "le référentiel AMC local au {date} pour aucune activité (motif {reason}) : " + _NO_ROC_FR,
        # device level
        "device_disabled": "désactivé dans la configuration : non testé",
        "device_disabled.live": "désactivé dans la configuration",
        "device_present.node": "{node} est présent et peut être ouvert",
        "device_present.inventory": "trouvé : {node}",
        "device_not_found.node": "{node} n'existe pas",
        "device_not_found.usb": "aucun appareil branché ne correspond à l'identifiant USB {usb_id}",
        "device_not_found.usb_serial": "aucun appareil branché ne correspond à l'identifiant "
        "USB {usb_id} de numéro de série {serial}",
        "device_not_found.usage_page": "aucun appareil branché ne correspond à la page d'usage "
        "{usage_page}",
        "device_not_found.usage_page_serial": "aucun appareil branché ne correspond à la page "
        "d'usage {usage_page} de numéro de série {serial}",
        "device_not_found.error": "appareil introuvable : {error}",
        "permission_denied.node": "cet utilisateur n'a pas le droit d'ouvrir {node}",
        "permission_denied.error": "accès refusé : {error}",
        "device_busy.error": "appareil occupé : {error}",
        "device_error.error": "erreur de l'appareil ({error_code}) : {error}",
        "device_error.selftest": "l'autotest a échoué : {error}",
        "device_error.state": "l'appareil est dans l'état {state}",
        "opened": "ouvert : {description}",
        "live_state": "tenu ouvert par l'agent : {description}",
        "not_measured_live": "la cadence d'images et le temps de décodage se mesurent avec "
        "`scanner-agent selftest`, l'agent arrêté (l'agent en marche tient la caméra)",
        "keyboard_mode": "le lecteur est lu en mode clavier (disposition '{layout}') : les "
        "séparateurs GS sont perdus et la disposition du clavier doit correspondre",
        "keyboard_mode.live": "le lecteur est lu en mode clavier (disposition '{layout}')",
        "keyboard_mode.windows": "le lecteur est lu en mode clavier par Raw Input "
        "(disposition '{layout}') : Raw Input ne fait qu'écouter, les touches arrivent donc "
        "quand même dans la fenêtre active ; les séparateurs GS sont perdus et la disposition "
        "du clavier doit correspondre",
        "keyboard_mode.live_windows": "le lecteur est lu en mode clavier par Raw Input "
        "(disposition '{layout}') : les touches arrivent quand même dans la fenêtre active",
        "keyboard_collection_exclusive.hid_keyboard": "sous Windows, un lecteur en mode clavier "
        'ne peut pas être lu par hidapi (backend = "{backend}") : Windows ouvre les '
        "collections clavier en exclusivité, rien n'arriverait",
        "keyboard_collection_exclusive.hid_pos": "{node} est une collection clavier (page "
        "d'usage 0x01, usage 0x06), le lecteur est en mode clavier : sous Windows, hidapi ne "
        "peut pas la lire (Windows ouvre les collections clavier en exclusivité)",
        "keyboard_layout_mismatch": "le lecteur tape avec la disposition de clavier "
        "'{layout}', pas '{configured}' : mettez layout = \"{layout}\" pour l'appareil "
        "'{device}' (ou réglez le lecteur sur '{configured}' avec ses codes de configuration)",
        "keyboard_layout_mismatch.other": "{detail}",
        # what a device sent
        "no_data.interactive": "rien n'est arrivé en {seconds:.0f} s",
        "no_data.external": "ouvert et lu pendant {seconds:.1f} s : rien n'a été scanné "
        "entre-temps (c'est normal ; scannez la carte de test avec --interactive pour vérifier "
        "la lecture)",
        "no_data.live": "rien n'a été scanné depuis le démarrage de l'agent",
        "codes_read": "{count} code(s) lu(s), dont {well_formed} attestation(s) bien formée(s)",
        "codes_read.live": "{well_formed} bien formé(s), {refused} refusé(s) depuis le "
        "démarrage de l'agent",
        "codes_refused": "{count} code(s) refusé(s) : {errors}",
        "idle_framing": "le lecteur termine ses codes par {sent}, mais l'appareil découpe au "
        "silence (suffix = none)",
        "wrong_suffix": "le lecteur termine ses codes par {sent}, l'appareil est configuré pour "
        "{configured}",
        "wrong_suffix.never_ends": "le lecteur termine ses codes par {sent}, l'appareil est "
        "configuré pour {configured} : les codes ne se terminent jamais",
        "wrong_suffix.crlf": "le lecteur termine ses codes par CR LF, l'appareil est configuré "
        "pour CR : chaque LF reste en trop avant le code suivant",
        "wrong_suffix.inside": "des fins de ligne restent à l'intérieur des codes : le lecteur "
        "envoie un autre suffixe que celui configuré",
        "frame_never_ends": "{count} octet(s) sont arrivés et aucun {suffix} n'a jamais terminé "
        "un code",
        "frame_never_ends.keys": "des touches sont arrivées sans qu'aucune Entrée (ou "
        "Tabulation) ne les termine : le lecteur envoie un autre suffixe",
        "noise": "{count} octet(s) reçus avant les codes n'appartenaient à aucun code",
        "aim_present": "identifiants AIM envoyés : {names}",
        "aim_missing": "le lecteur n'envoie aucun identifiant de symbologie AIM (]d1) avant ses "
        "codes",
        "separators_lost": "des séparateurs GS ont été perdus ; les champs ont été découpés "
        "d'après leurs étiquettes",
        "frames_dropped": "{count} trame(s) abandonnée(s) (trop longues)",
        "frames_dropped.live": "{count} trame(s) abandonnée(s)",
        # cameras
        "camera_no_frames": "aucune image en {seconds:.1f} s",
        "camera_measured": "{width}x{height} à {fps:.1f} images/s ({configured_fps:g} "
        "configurées) ; décodage en {mean_ms:.1f} ms par image en moyenne, {max_ms:.1f} ms au "
        "plus",
        "camera_resolution": "la caméra donne {width}x{height}, la configuration demande "
        "{configured_width}x{configured_height}",
        "camera_frame_rate": "{fps:.1f} images/s, la moitié des {configured_fps:g} configurées "
        "ou moins",
        "camera_decode_slow": "le décodage prend {mean_ms:.0f} ms par image, plus que les "
        "{interval_ms:.0f} ms entre deux images",
        "camera_decode_slow.skipped": "le décodage est plus lent que la caméra : {skipped} "
        "images sur {frames} sautées, {decode_fps:.1f} décodées par seconde, {mean_ms:.0f} ms "
        "par image",
        # the test card
        "testcard_complete": "attestations de la carte de test lues en {complete_s:.1f} s "
        "(premier code après {first_s:.1f} s)",
        "testcard_incomplete": "les attestations de la carte de test aux formats {missing} "
        "n'ont pas été lues en {seconds:g} s",
        "testcard_outcome": "des codes de la carte de test n'ont pas été lus ou refusés comme "
        "prévu (code : attendu → obtenu) : {wrong}",
        "unexpected_code": "{count} code(s) qui ne sont pas sur la carte de test sont arrivés",
        # the operator's prompt (interactive level)
        "prompt.scan_card": "l'appareil '{device}' est ouvert : scannez maintenant la carte de "
        "test (toutes les attestations, codes 1 à 6), dans les {seconds:g} s",
    },
}

FIXES: dict[Lang, dict[str, str]] = {
    "en": {
        "device_not_found.node": "{node} does not exist: plug the device in, or run "
        "`scanner-agent devices` to see what is there",
        "permission_denied.group": "{node} belongs to group '{group}' (mode {mode}) and {user} "
        "is not in it: `sudo usermod -aG {group} {user}`, then log in again (or restart the "
        "service)",
        "permission_denied.udev": "{node} is group '{group}', mode {mode}: install "
        "config/udev/99-scanner-agent.rules into /etc/udev/rules.d/ (add a line with your "
        "scanner's vendor id from `lsusb` if it is not listed), run `sudo udevadm control "
        "--reload && sudo udevadm trigger`, then `sudo usermod -aG plugdev {user}` and log in "
        "again",
        "permission_denied.udev_or_group": "{node} is group '{group}', mode {mode}: install "
        "config/udev/99-scanner-agent.rules into /etc/udev/rules.d/ (add a line with your "
        "scanner's vendor id from `lsusb` if it is not listed), run `sudo udevadm control "
        "--reload && sudo udevadm trigger`, then `sudo usermod -aG plugdev {user}` and log in "
        "again (or add {user} to '{base}' if the node already belongs to it)",
        "camera_resolution": "set width = {width}, height = {height} for device '{device}', or "
        "use a camera that gives the configured size",
        "idle_framing": "set suffix = \"{suffix}\" for device '{device}'",
        "wrong_suffix": "set suffix = \"{suffix}\" for device '{device}' (or program the "
        "scanner to send {configured})",
        "wrong_suffix.crlf": "set suffix = \"crlf\" for device '{device}'",
        "frame_never_ends": "set suffix = \"none\" for device '{device}', or program the "
        "scanner to send CR after each code",
        "frame_never_ends.keys": "set suffix = \"none\" for device '{device}', or program the "
        "scanner to send Enter after each code",
        "keyboard_mode.windows": "the scanner's keys are also typed into the window that has "
        'the focus. Either put the scanner in HID POS mode (type = "hid_pos") or USB-CDC '
        'mode (type = "serial") by scanning the configuration code from the vendor\'s '
        "programming guide, or scan only with the focus in the GAP field that expects the scan",
        "keyboard_collection_exclusive.hid_keyboard": 'set backend = "auto" (or '
        "\"rawinput\") for device '{device}': Raw Input reads keyboard-mode scanners on "
        "Windows; or put the scanner in HID POS or USB-CDC (serial) mode by scanning the "
        "configuration code from the vendor's programming guide",
        "keyboard_collection_exclusive.hid_pos": "put the scanner in HID POS mode (or USB-CDC "
        'mode, type = "serial") by scanning the configuration code from the vendor\'s '
        'programming guide; or read it as type = "hid_keyboard" with backend = "auto" '
        "(Raw Input) instead of device '{device}'",
    },
    "fr": {
        "device_not_found.node": "{node} n'existe pas : branchez l'appareil, ou lancez "
        "`scanner-agent devices` pour voir ce qui est branché",
        "permission_denied.group": "{node} appartient au groupe '{group}' (mode {mode}) et "
        "{user} n'en fait pas partie : `sudo usermod -aG {group} {user}`, puis reconnectez-vous "
        "(ou redémarrez le service)",
        "permission_denied.udev": "{node} est du groupe '{group}', mode {mode} : installez "
        "config/udev/99-scanner-agent.rules dans /etc/udev/rules.d/ (ajoutez une ligne avec "
        "l'identifiant fabricant de votre lecteur donné par `lsusb` s'il n'y figure pas), "
        "lancez `sudo udevadm control --reload && sudo udevadm trigger`, puis `sudo usermod "
        "-aG plugdev {user}` et reconnectez-vous",
        "permission_denied.udev_or_group": "{node} est du groupe '{group}', mode {mode} : "
        "installez config/udev/99-scanner-agent.rules dans /etc/udev/rules.d/ (ajoutez une "
        "ligne avec l'identifiant fabricant de votre lecteur donné par `lsusb` s'il n'y figure "
        "pas), lancez `sudo udevadm control --reload && sudo udevadm trigger`, puis `sudo "
        "usermod -aG plugdev {user}` et reconnectez-vous (ou ajoutez {user} au groupe "
        "'{base}' si le périphérique lui appartient déjà)",
        "camera_resolution": "mettez width = {width}, height = {height} pour l'appareil "
        "'{device}', ou utilisez une caméra qui donne la taille configurée",
        "idle_framing": "mettez suffix = \"{suffix}\" pour l'appareil '{device}'",
        "wrong_suffix": "mettez suffix = \"{suffix}\" pour l'appareil '{device}' (ou "
        "programmez le lecteur pour qu'il envoie {configured})",
        "wrong_suffix.crlf": "mettez suffix = \"crlf\" pour l'appareil '{device}'",
        "frame_never_ends": "mettez suffix = \"none\" pour l'appareil '{device}', ou "
        "programmez le lecteur pour qu'il envoie CR après chaque code",
        "frame_never_ends.keys": "mettez suffix = \"none\" pour l'appareil '{device}', ou "
        "programmez le lecteur pour qu'il envoie Entrée après chaque code",
        "keyboard_mode.windows": "les touches du lecteur sont aussi tapées dans la fenêtre "
        'active. Passez le lecteur en mode HID POS (type = "hid_pos") ou USB-CDC (type = '
        '"serial") en scannant le code de configuration du guide de programmation du '
        "fabricant, ou ne scannez qu'avec le curseur dans le champ du GAP qui attend le scan",
        "keyboard_collection_exclusive.hid_keyboard": 'mettez backend = "auto" (ou '
        "\"rawinput\") pour l'appareil '{device}' : Raw Input lit les lecteurs en mode clavier "
        "sous Windows ; ou passez le lecteur en mode HID POS ou USB-CDC (série) en scannant le "
        "code de configuration du guide de programmation du fabricant",
        "keyboard_collection_exclusive.hid_pos": "passez le lecteur en mode HID POS (ou USB-CDC, "
        'type = "serial") en scannant le code de configuration du guide de programmation du '
        'fabricant ; ou lisez-le en type = "hid_keyboard" avec backend = "auto" (Raw '
        "Input) à la place de l'appareil '{device}'",
    },
}

LABELS: dict[Lang, dict[str, str]] = {
    "en": {
        "title": "scanner-agent self-test",
        "colon": ": ",
        "in": "in",
        "agent": "agent",
        "device": "device",
        "measured": "measured",
        "header.verdict": "verdict",
        "header.check": "check",
        "header.what": "what",
        "header.fix": "fix",
        "level.internal": "internal",
        "level.external": "external",
        "level.interactive": "interactive",
        "verdict.pass": "pass",
        "verdict.warn": "warn",
        "verdict.fail": "fail",
    },
    "fr": {
        "title": "autotest de scanner-agent",
        "colon": " : ",
        "in": "en",
        "agent": "agent",
        "device": "appareil",
        "measured": "mesures",
        "header.verdict": "verdict",
        "header.check": "vérification",
        "header.what": "constat",
        "header.fix": "correction",
        "level.internal": "interne",
        "level.external": "externe",
        "level.interactive": "interactif",
        "verdict.pass": "réussi",
        "verdict.warn": "à surveiller",  # the operator page's word (i18n verdict.warn)
        "verdict.fail": "échec",
    },
}

GENERIC_FIXES: dict[Lang, dict[str, str]] = {"en": CHECKS, "fr": CHECKS_FR}


class _Formatter(string.Formatter):
    """`str.format` with French decimal commas."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        text = str(super().format_field(value, format_spec))
        if self.lang == "fr" and isinstance(value, float):
            text = text.replace(".", ",")
        return text


_FORMATTERS = {lang: _Formatter(lang) for lang in LANGS}


def render(template: str, lang: Lang, params: Mapping[str, Any]) -> str:
    return str(_FORMATTERS[lang].vformat(template, (), params))


def render_message(message_id: str, lang: Lang, params: Mapping[str, Any]) -> str:
    """The message `message_id` in `lang` with `params` (KeyError: an unknown id or field)."""
    return render(MESSAGES[lang][message_id], lang, params)


def render_fix(fix_id: str, lang: Lang, params: Mapping[str, Any]) -> str:
    return render(FIXES[lang][fix_id], lang, params)


def generic_fix(code: str, lang: Lang) -> str:
    """The generic fix of a check code in `lang` (`reasons.CHECKS` or `CHECKS_FR`)."""
    return GENERIC_FIXES[lang][code]


def label(key: str, lang: Lang) -> str:
    return LABELS[lang][key]


def placeholders(template: str) -> set[str]:
    """The named fields of a template (for the test that keeps the languages in step)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def language_from_environ(environ: Mapping[str, str]) -> Lang:
    """The system locale's language, as gettext reads it: the first of LC_ALL, LC_MESSAGES and
    LANG that is set; French when it starts with `fr`, English otherwise."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"
