"""Every self-test check code with its generic fix: the reasons table.

`CHECKS` maps each stable code to the fix shown when the check warns or fails ("" for a
code that only passes); `CHECKS_FR` holds the same fixes in French (the report's language
picks one, `texts.generic_fix`). Codes are never renamed: clients and the operator page branch on
them, and the README's "Self-test reasons" table is made of this one (a test keeps the two
in step).
"""

from __future__ import annotations

UDEV_FIX = (
    "install config/udev/99-scanner-agent.rules into /etc/udev/rules.d/, run `sudo udevadm "
    "control --reload && sudo udevadm trigger`, add the agent's user to plugdev (`sudo usermod "
    "-aG plugdev USER`) and log in again"
)

# Every check code, with its generic fix ("" for a pass). Codes are never renamed.
CHECKS: dict[str, str] = {
    # agent level (internal)
    "config_ok": "",
    "config_invalid": "run `scanner-agent config --config FILE`: the message names the key and "
    "the file; fix it until it passes",
    "layouts_loaded": "",
    "layouts_invalid": "the message names the layout file and key; fix it or remove the folder "
    "from parser.layouts_dirs",
    "referential_loaded": "",
    "referential_invalid": "the message names the CSV line(s); fix them (`scanner-agent "
    "referential check FILE` checks a file) or point parser.referential at a good file",
    "referential_stale": "replace the file with a current extract of your hospital's AMC "
    "referential (with today's `updated` dates), or raise parser.referential_max_age_days",
    "testcard_parsed": "",
    "testcard_not_parsed": "the layouts in parser.layouts_dirs must include the shipped ones "
    "(config/layouts): keep {config_dir}/layouts in the list",
    "decoder_ok": "",
    "decoder_failed": "reinstall the agent (zxing-cpp, OpenCV); check the [decoder] section",
    "libdmtx_missing": "install the system library libdmtx (Debian/Ubuntu: `sudo apt-get "
    "install libdmtx0b`), or set decoder.libdmtx = false",
    "storage_ok": "",
    "storage_unavailable": "check storage.url and that the data folder (agent.data_dir) is "
    "writable by the agent's user; for PostgreSQL, that the server is up and reachable",
    "no_devices": "add a [[devices]] table per scanner or camera; `scanner-agent devices` "
    "lists what this workstation has",
    # the ROC roll-out phase (selftest/roc_checks.py)
    "roc_phase": "",
    "roc_mirror_unknown": "add the mirror AMC's line to the AMC referential (roc = yes, test = "
    "yes), or correct roc.mirror_amc",
    "roc_mirror_not_connected": "set roc = yes on the mirror AMC's line of the referential (with "
    "a period holding today), or correct roc.mirror_amc",
    "roc_phase_not_reloaded": "fix the [roc] section (the message names the key and the file; "
    "`scanner-agent config --config FILE` checks it): the previous phase stays in use until it "
    "reads again",
    # device level
    "device_disabled": "",
    "device_present": "",
    "device_not_found": "plug the device in; check `port` / `vid` / `pid` / `path` / `source` "
    "against `scanner-agent devices`",
    "permission_denied": UDEV_FIX,
    "device_busy": "another program holds the device: close it (a terminal program, "
    "ModemManager, a second agent; `fuser -v /dev/ttyACM0` names it). To test the devices of a "
    "running agent, call POST /v1/selftest instead",
    "device_error": "read the message; unplug and plug the device back in",
    "opened": "",
    "no_data": "scan a code within the time limit; check the scanner is in the configured mode "
    "(serial, HID POS or keyboard) and beeps when it reads",
    "codes_read": "",
    "codes_refused": "look at the error codes: `not_an_attestation` on every code usually means "
    "a framing or layout problem (see the other checks)",
    "noise": "bytes that belong to no code arrive (line noise, a wrong baud rate or parity, "
    "ModemManager probing the port): check baudrate/parity against the scanner's settings and "
    "install the udev rule (ID_MM_DEVICE_IGNORE)",
    "wrong_suffix": "set `suffix` to what the scanner sends, or program the scanner's suffix "
    "with its setup codes",
    "frame_never_ends": 'the scanner sends no suffix: set suffix = "none" (codes end after '
    "idle_ms of silence), or better, program the scanner to send CR",
    "idle_framing": "the scanner ends its codes with a suffix: set `suffix` to it; idle framing "
    "can split a code when the link stalls",
    "aim_present": "",
    "aim_missing": "enable the AIM symbology identifier on the scanner ('transmit AIM ID' setup "
    "code): without it a QR Code or a GS1 code cannot be refused by its symbology",
    "keyboard_layout_mismatch": "set `layout` to the scanner's layout, or scan the scanner's "
    "keyboard-layout setup code",
    "keyboard_mode": 'switch the scanner to HID POS (type = "hid_pos") or USB serial '
    '(type = "serial") with its setup codes: keyboard mode loses GS separators and depends '
    "on the keyboard layout",
    "keyboard_collection_exclusive": "on Windows, read a keyboard-mode scanner with backend = "
    '"auto" (or "rawinput"): Windows opens keyboard collections exclusively and hidapi reads '
    "nothing from them; or put the scanner in HID POS or USB-CDC (serial) mode by scanning the "
    "configuration code from the vendor's programming guide",
    "separators_lost": "the scanner drops GS (keyboard mode): the scans are still read; HID POS "
    "or serial mode keeps GS",
    "frames_dropped": "the scan queue overflowed, codes were too long, or the device went away "
    "in the middle of a code: see the device's last error and diagnostics (frame_incomplete); "
    "raise pipeline.queue_size, check the suffix, or check the cable",
    "camera_no_frames": "check the camera is not used by another program (a video call) and "
    "that the user is in the video group",
    "camera_measured": "",
    "camera_resolution": "the camera gives fewer pixels than configured: lower `width`/`height` "
    "to what it gives, or use a camera that reaches it (small codes need pixels)",
    "camera_frame_rate": "the camera or the decoder cannot keep up: lower `fps`, `width` and "
    "`height`, or decoder.time_budget_ms",
    "camera_decode_slow": "decoding takes longer than the time between frames: lower `fps` or "
    "the resolution, or decoder.time_budget_ms",
    "live_state": "",
    "not_measured_live": "",
    "testcard_complete": "",
    "testcard_incomplete": "scan every attestation of the test card (codes 1 to 6) within the "
    "time limit; a code that does not read at all: check the module size your scanner supports",
    "testcard_outcome": "a test-card code was not read or refused as designed: see the message",
    "unexpected_code": "scan the test card only during the interactive self-test",
}

UDEV_FIX_FR = (
    "installez config/udev/99-scanner-agent.rules dans /etc/udev/rules.d/, lancez `sudo "
    "udevadm control --reload && sudo udevadm trigger`, ajoutez l'utilisateur de l'agent au "
    "groupe plugdev (`sudo usermod -aG plugdev USER`) puis reconnectez-vous"
)

# The same fixes in French (vouvoiement); config keys, commands and file names as they are.
CHECKS_FR: dict[str, str] = {
    # agent level (internal)
    "config_ok": "",
    "config_invalid": "lancez `scanner-agent config --config FILE` : le message nomme la clé et "
    "le fichier ; corrigez-les jusqu'à ce que la commande réussisse",
    "layouts_loaded": "",
    "layouts_invalid": "le message nomme le fichier de format et la clé : corrigez-le, ou "
    "retirez le dossier de parser.layouts_dirs",
    "referential_loaded": "",
    "referential_invalid": "le message nomme la ou les lignes du CSV : corrigez-les "
    "(`scanner-agent referential check FILE` vérifie un fichier) ou faites pointer "
    "parser.referential vers un fichier correct",
    "referential_stale": "remplacez le fichier par un extrait récent du référentiel AMC de "
    "votre établissement (avec des dates `updated` à jour), ou augmentez "
    "parser.referential_max_age_days",
    "testcard_parsed": "",
    "testcard_not_parsed": "parser.layouts_dirs doit comprendre les formats livrés "
    "(config/layouts) : gardez {config_dir}/layouts dans la liste",
    "decoder_ok": "",
    "decoder_failed": "réinstallez l'agent (zxing-cpp, OpenCV) ; vérifiez la section [decoder]",
    "libdmtx_missing": "installez la bibliothèque système libdmtx (Debian/Ubuntu : `sudo "
    "apt-get install libdmtx0b`), ou mettez decoder.libdmtx = false",
    "storage_ok": "",
    "storage_unavailable": "vérifiez storage.url et que l'utilisateur de l'agent peut écrire "
    "dans le dossier de données (agent.data_dir) ; pour PostgreSQL, que le serveur est démarré "
    "et joignable",
    "no_devices": "ajoutez une table [[devices]] par lecteur ou caméra ; `scanner-agent "
    "devices` liste ce que ce poste possède",
    # the ROC roll-out phase (selftest/roc_checks.py)
    "roc_phase": "",
    "roc_mirror_unknown": "ajoutez la ligne de l'AMC miroir au référentiel AMC (roc = yes, "
    "test = yes), ou corrigez roc.mirror_amc",
    "roc_mirror_not_connected": "mettez roc = yes sur la ligne de l'AMC miroir dans le "
    "référentiel (avec une période qui contient aujourd'hui), ou corrigez roc.mirror_amc",
    "roc_phase_not_reloaded": "corrigez la section [roc] (le message nomme la clé et le "
    "fichier ; `scanner-agent config --config FILE` la vérifie) : la phase précédente reste "
    "appliquée tant que la section ne se relit pas",
    # device level
    "device_disabled": "",
    "device_present": "",
    "device_not_found": "branchez l'appareil ; comparez `port` / `vid` / `pid` / `path` / "
    "`source` avec ce qu'affiche `scanner-agent devices`",
    "permission_denied": UDEV_FIX_FR,
    "device_busy": "un autre programme tient l'appareil : fermez-le (un programme de terminal, "
    "ModemManager, un second agent ; `fuser -v /dev/ttyACM0` le nomme). Pour tester les "
    "appareils d'un agent en marche, appelez plutôt POST /v1/selftest",
    "device_error": "lisez le message ; débranchez puis rebranchez l'appareil",
    "opened": "",
    "no_data": "scannez un code dans le temps imparti ; vérifiez que le lecteur est dans le "
    "mode configuré (série, HID POS ou clavier) et qu'il bipe quand il lit",
    "codes_read": "",
    "codes_refused": "regardez les codes d'erreur : `not_an_attestation` sur tous les codes "
    "signale le plus souvent un problème de découpage ou de format (voir les autres "
    "vérifications)",
    "noise": "des octets qui n'appartiennent à aucun code arrivent (parasites sur la ligne, "
    "mauvaise vitesse ou parité, ModemManager qui sonde le port) : comparez baudrate/parity "
    "aux réglages du lecteur et installez la règle udev (ID_MM_DEVICE_IGNORE)",
    "wrong_suffix": "mettez dans `suffix` ce que le lecteur envoie, ou programmez le suffixe "
    "du lecteur avec ses codes de configuration",
    "frame_never_ends": 'le lecteur n\'envoie aucun suffixe : mettez suffix = "none" (les '
    "codes se terminent après idle_ms de silence), ou mieux, programmez le lecteur pour qu'il "
    "envoie CR",
    "idle_framing": "le lecteur termine ses codes par un suffixe : indiquez-le dans `suffix` ; "
    "le découpage au silence peut couper un code quand la liaison marque une pause",
    "aim_present": "",
    "aim_missing": "activez l'identifiant de symbologie AIM sur le lecteur (code de "
    "configuration « transmit AIM ID ») : sans lui, un QR Code ou un code GS1 ne peut pas être "
    "refusé d'après sa symbologie",
    "keyboard_layout_mismatch": "mettez dans `layout` la disposition de clavier du lecteur, ou "
    "scannez le code de configuration de disposition de clavier du lecteur",
    "keyboard_mode": 'passez le lecteur en HID POS (type = "hid_pos") ou en série USB '
    '(type = "serial") avec ses codes de configuration : le mode clavier perd les séparateurs '
    "GS et dépend de la disposition du clavier",
    "keyboard_collection_exclusive": "sous Windows, lisez un lecteur en mode clavier avec "
    'backend = "auto" (ou "rawinput") : Windows ouvre les collections clavier en exclusivité et '
    "hidapi n'en lit rien ; ou passez le lecteur en mode HID POS ou USB-CDC (série) en scannant "
    "le code de configuration du guide de programmation du fabricant",
    "separators_lost": "le lecteur perd les GS (mode clavier) : les scans sont quand même lus ; "
    "les modes HID POS ou série gardent les GS",
    "frames_dropped": "la file des scans a débordé, des codes étaient trop longs, ou l'appareil "
    "a disparu au milieu d'un code : voyez la dernière erreur et les diagnostics de "
    "l'appareil (frame_incomplete) ; augmentez pipeline.queue_size, vérifiez le suffixe ou "
    "le câble",
    "camera_no_frames": "vérifiez que la caméra n'est pas utilisée par un autre programme (un "
    "appel vidéo) et que l'utilisateur est dans le groupe video",
    "camera_measured": "",
    "camera_resolution": "la caméra donne moins de pixels que configuré : baissez "
    "`width`/`height` à ce qu'elle donne, ou utilisez une caméra qui les atteint (les petits "
    "codes demandent des pixels)",
    "camera_frame_rate": "la caméra ou le décodeur ne suit pas : baissez `fps`, `width` et "
    "`height`, ou decoder.time_budget_ms",
    "camera_decode_slow": "le décodage dure plus longtemps que l'intervalle entre deux images : "
    "baissez `fps` ou la résolution, ou decoder.time_budget_ms",
    "live_state": "",
    "not_measured_live": "",
    "testcard_complete": "",
    "testcard_incomplete": "scannez toutes les attestations de la carte de test (codes 1 à 6) "
    "dans le temps imparti ; si un code ne se lit pas du tout, vérifiez la taille de module "
    "que votre lecteur accepte",
    "testcard_outcome": "un code de la carte de test n'a pas été lu ou refusé comme prévu : "
    "voyez le message",
    "unexpected_code": "ne scannez la carte de test que pendant l'autotest interactif",
}
