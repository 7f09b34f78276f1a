/** The waiting page: rendering, the status JSON it polls, its languages and its CSP. */
export { renderWaitingPage, compileWaitingPageTemplate, MAX_MESSAGE_LENGTH, type WaitingPageVars } from './render.js';
export { TemplateError } from './compile.js';
export { DEFAULT_TEMPLATE, TEMPLATE_VARIABLES, TEMPLATE_PARTIALS, type TemplateVariable } from './template.js';
export { pickLanguage } from './language.js';
export { PAGE_LANGUAGES, PAGE_STRINGS, DEFAULT_LANGUAGE, type PageStrings } from './strings.js';
export { formatEta, formatPosition, nextPollDelay } from './format.js';
export { escapeHtml, jsonForScript, localPath, MAX_URL_LENGTH } from './escape.js';
export { STATUS_PATH, STATUS_TICKET_PARAM, STATUS_JOIN_PARAM, STATUS_WAIT_PARAM, statusUrlFor, type RoomState, type RoomStatus } from './status.js';
export { WAITING_PAGE_CSP } from './csp.js';
