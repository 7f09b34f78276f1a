/**
 * The waiting page's words, per language. Placeholders: `{position}`, `{n}`, `{low}`, `{high}`.
 * Every language has every key (the type says so), and the page script receives the chosen language's
 * table so its updates speak the same language as the first render.
 */

export interface PageStrings {
  /** The document title. */
  title: string;
  /** The page's h1. */
  heading: string;
  intro: string;
  keepOpen: string;
  /** The live region while waiting. */
  position: string;
  positionNext: string;
  positionUnknown: string;
  etaLabel: string;
  etaUnknown: string;
  etaUnderMinute: string;
  etaOneMinute: string;
  etaMinutes: string;
  etaMinuteRange: string;
  etaOneHour: string;
  etaHours: string;
  etaHourRange: string;
  /** The live region once admitted, just before the page leaves. */
  admitted: string;
  full: string;
  maintenance: string;
  /** The live region when the status endpoint does not know the ticket. */
  lost: string;
  /** The note while status polls fail; the place is kept. */
  retrying: string;
  /** The no-JavaScript link that shows an updated page. */
  checkLink: string;
  noScript: string;
  messageHeading: string;
}

const en: PageStrings = {
  title: 'Waiting room',
  heading: 'You are in line',
  intro:
    'The site is very busy right now. You have a place in line and will be let in automatically when it is your turn.',
  keepOpen: 'Keep this page open. It updates by itself; there is no need to reload it.',
  position: 'You are number {position} in line.',
  positionNext: 'You are next in line.',
  positionUnknown: 'You have a place in line.',
  etaLabel: 'Estimated wait',
  etaUnknown: 'unknown',
  etaUnderMinute: 'less than a minute',
  etaOneMinute: 'about 1 minute',
  etaMinutes: 'about {n} minutes',
  etaMinuteRange: 'about {low}–{high} minutes',
  etaOneHour: 'about 1 hour',
  etaHours: 'about {n} hours',
  etaHourRange: 'about {low}–{high} hours',
  admitted: 'It is your turn. Taking you to the site…',
  full: 'The waiting room is full at the moment. Please keep this page open; we keep trying.',
  maintenance: 'The site is down for maintenance. This page lets you in when it is back.',
  lost: 'Your place in line could not be found. Use “Check my place” to join the line again.',
  retrying: 'The connection is interrupted. Your place is kept; trying again…',
  checkLink: 'Check my place',
  noScript: 'Without JavaScript this page cannot update by itself. Use “Check my place” to see where you are.',
  messageHeading: 'A note from the site',
};

const de: PageStrings = {
  title: 'Warteraum',
  heading: 'Sie sind in der Warteschlange',
  intro:
    'Die Website ist gerade sehr gefragt. Sie haben einen Platz in der Warteschlange und werden automatisch eingelassen, sobald Sie an der Reihe sind.',
  keepOpen: 'Lassen Sie diese Seite geöffnet. Sie aktualisiert sich von selbst; neu laden ist nicht nötig.',
  position: 'Sie sind Nummer {position} in der Warteschlange.',
  positionNext: 'Sie sind als Nächstes an der Reihe.',
  positionUnknown: 'Sie haben einen Platz in der Warteschlange.',
  etaLabel: 'Geschätzte Wartezeit',
  etaUnknown: 'unbekannt',
  etaUnderMinute: 'weniger als eine Minute',
  etaOneMinute: 'etwa 1 Minute',
  etaMinutes: 'etwa {n} Minuten',
  etaMinuteRange: 'etwa {low}–{high} Minuten',
  etaOneHour: 'etwa 1 Stunde',
  etaHours: 'etwa {n} Stunden',
  etaHourRange: 'etwa {low}–{high} Stunden',
  admitted: 'Sie sind an der Reihe. Sie werden jetzt weitergeleitet …',
  full: 'Der Warteraum ist im Moment voll. Bitte lassen Sie diese Seite geöffnet; wir versuchen es weiter.',
  maintenance: 'Die Website wird gerade gewartet. Diese Seite lässt Sie ein, sobald sie wieder erreichbar ist.',
  lost: 'Ihr Platz in der Warteschlange wurde nicht gefunden. Mit „Meinen Platz prüfen“ stellen Sie sich erneut an.',
  retrying: 'Die Verbindung ist unterbrochen. Ihr Platz bleibt erhalten; neuer Versuch läuft …',
  checkLink: 'Meinen Platz prüfen',
  noScript:
    'Ohne JavaScript kann sich diese Seite nicht selbst aktualisieren. Mit „Meinen Platz prüfen“ sehen Sie Ihre aktuelle Position.',
  messageHeading: 'Hinweis der Website',
};

// French typography puts a no-break space inside « » and before ; : ! ?
const fr: PageStrings = {
  title: 'Salle d’attente',
  heading: 'Vous êtes dans la file d’attente',
  intro:
    'Le site est très sollicité en ce moment. Vous avez une place dans la file et vous serez admis automatiquement quand ce sera votre tour.',
  keepOpen: 'Gardez cette page ouverte. Elle se met à jour toute seule\u00a0; inutile de la recharger.',
  position: 'Vous êtes numéro {position} dans la file.',
  positionNext: 'Vous êtes en tête de la file.',
  positionUnknown: 'Vous avez une place dans la file.',
  etaLabel: 'Attente estimée',
  etaUnknown: 'inconnue',
  etaUnderMinute: 'moins d’une minute',
  etaOneMinute: 'environ 1 minute',
  etaMinutes: 'environ {n} minutes',
  etaMinuteRange: 'environ {low} à {high} minutes',
  etaOneHour: 'environ 1 heure',
  etaHours: 'environ {n} heures',
  etaHourRange: 'environ {low} à {high} heures',
  admitted: 'C’est votre tour. Redirection vers le site…',
  full: 'La salle d’attente est pleine pour le moment. Gardez cette page ouverte\u00a0; nous réessayons.',
  maintenance: 'Le site est en maintenance. Cette page vous laissera entrer dès son retour.',
  lost: 'Votre place dans la file est introuvable. Utilisez «\u00a0Vérifier ma place\u00a0» pour reprendre la file.',
  retrying: 'La connexion est interrompue. Votre place est conservée\u00a0; nouvelle tentative…',
  checkLink: 'Vérifier ma place',
  noScript:
    'Sans JavaScript, cette page ne peut pas se mettre à jour seule. Utilisez «\u00a0Vérifier ma place\u00a0» pour voir votre position actuelle.',
  messageHeading: 'Message du site',
};

const es: PageStrings = {
  title: 'Sala de espera',
  heading: 'Está en la fila',
  intro:
    'El sitio tiene mucha demanda en este momento. Tiene un lugar en la fila y entrará automáticamente cuando sea su turno.',
  keepOpen: 'Mantenga esta página abierta. Se actualiza sola; no hace falta recargarla.',
  position: 'Es el número {position} en la fila.',
  positionNext: 'Su turno es el siguiente.',
  positionUnknown: 'Tiene un lugar en la fila.',
  etaLabel: 'Espera estimada',
  etaUnknown: 'desconocida',
  etaUnderMinute: 'menos de un minuto',
  etaOneMinute: 'alrededor de 1 minuto',
  etaMinutes: 'alrededor de {n} minutos',
  etaMinuteRange: 'entre {low} y {high} minutos aproximadamente',
  etaOneHour: 'alrededor de 1 hora',
  etaHours: 'alrededor de {n} horas',
  etaHourRange: 'entre {low} y {high} horas aproximadamente',
  admitted: 'Es su turno. Le llevamos al sitio…',
  full: 'La sala de espera está llena en este momento. Mantenga esta página abierta; seguimos intentándolo.',
  maintenance: 'El sitio está en mantenimiento. Esta página le dejará entrar cuando vuelva a estar disponible.',
  lost: 'No se encontró su lugar en la fila. Use «Comprobar mi lugar» para volver a ponerse en la fila.',
  retrying: 'Se interrumpió la conexión. Su lugar se conserva; reintentando…',
  checkLink: 'Comprobar mi lugar',
  noScript: 'Sin JavaScript esta página no puede actualizarse sola. Use «Comprobar mi lugar» para ver su posición actual.',
  messageHeading: 'Aviso del sitio',
};

/** Every language the page speaks, keyed by its BCP 47 primary tag. English is the default. */
export const PAGE_STRINGS: Readonly<Record<string, Readonly<PageStrings>>> = Object.freeze({ en, de, fr, es });

/** The language used when Accept-Language names none the page speaks. */
export const DEFAULT_LANGUAGE = 'en';

/** The tags of `PAGE_STRINGS`, default first. */
export const PAGE_LANGUAGES: readonly string[] = Object.freeze(Object.keys(PAGE_STRINGS));

/** The keys of `PageStrings`, for template validation and documentation. */
export const PAGE_STRING_KEYS = Object.freeze(Object.keys(en)) as readonly (keyof PageStrings)[];
